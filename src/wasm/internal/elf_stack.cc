#include "wasm/internal/elf_stack.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/unique_fd.h"

namespace aether::wasm {
namespace {

// tcc writes a handful of program headers; more is not a file of ours.
constexpr size_t kMaxProgramHeaders = 64;

struct ElfFile {
  Elf64_Ehdr header{};
  std::vector<Elf64_Phdr> programs;
};

bool ReadAll(int fd, void* buf, size_t n, off_t at) {
  return ::pread(fd, buf, n, at) == static_cast<ssize_t>(n);
}
bool WriteAll(int fd, const void* buf, size_t n, off_t at) {
  return ::pwrite(fd, buf, n, at) == static_cast<ssize_t>(n);
}

Result<ElfFile> ReadElf(int fd, const std::string& path) {
  ElfFile f;
  if (!ReadAll(fd, &f.header, sizeof f.header, 0)) {
    return Internal("cannot read the ELF header of " + path);
  }
  const Elf64_Ehdr& h = f.header;
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0 || h.e_ident[EI_CLASS] != ELFCLASS64 ||
      h.e_ident[EI_DATA] != ELFDATA2LSB || h.e_phentsize != sizeof(Elf64_Phdr) || h.e_phnum == 0 ||
      h.e_phnum > kMaxProgramHeaders) {
    return Internal(path + " is not the little-endian ELF64 object the compiler writes");
  }
  f.programs.resize(h.e_phnum);
  if (!ReadAll(fd, f.programs.data(), f.programs.size() * sizeof(Elf64_Phdr),
               static_cast<off_t>(h.e_phoff))) {
    return Internal("cannot read the program headers of " + path);
  }
  return f;
}

}  // namespace

Status MarkStackNotExecutable(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return Internal("cannot open " + path + ": " + std::strerror(errno));
  ASSIGN_OR_RETURN(ElfFile f, ReadElf(fd.get(), path));
  for (size_t i = 0; i < f.programs.size(); ++i) {
    Elf64_Phdr& p = f.programs[i];
    if (p.p_type != PT_GNU_STACK) continue;
    if ((p.p_flags & PF_X) == 0) return OkStatus();
    p.p_flags &= ~static_cast<Elf64_Word>(PF_X);
    off_t at = static_cast<off_t>(f.header.e_phoff + i * sizeof(Elf64_Phdr));
    if (!WriteAll(fd.get(), &p, sizeof p, at)) return Internal("cannot write " + path);
    return OkStatus();
  }
  Elf64_Phdr stack{};
  stack.p_type = PT_GNU_STACK;
  stack.p_flags = PF_R | PF_W;
  stack.p_align = 16;
  f.programs.push_back(stack);
  off_t end = ::lseek(fd.get(), 0, SEEK_END);
  if (end < 0) return Internal("cannot size " + path);
  off_t table = (end + 7) & ~off_t{7};  // Elf64_Phdr's alignment
  std::vector<char> padding(static_cast<size_t>(table - end), 0);
  f.header.e_phoff = static_cast<Elf64_Off>(table);
  f.header.e_phnum = static_cast<Elf64_Half>(f.programs.size());
  // The table first, then the header that points at it: a crash between
  // the two leaves the old, still valid object.
  if ((!padding.empty() && !WriteAll(fd.get(), padding.data(), padding.size(), end)) ||
      !WriteAll(fd.get(), f.programs.data(), f.programs.size() * sizeof(Elf64_Phdr), table) ||
      !WriteAll(fd.get(), &f.header, sizeof f.header, 0)) {
    return Internal("cannot write " + path);
  }
  return OkStatus();
}

Result<bool> WantsExecutableStack(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Internal("cannot open " + path + ": " + std::strerror(errno));
  ASSIGN_OR_RETURN(ElfFile f, ReadElf(fd.get(), path));
  for (const Elf64_Phdr& p : f.programs) {
    if (p.p_type == PT_GNU_STACK) return (p.p_flags & PF_X) != 0;
  }
  return true;  // glibc's default on x86-64 without the header
}

}  // namespace aether::wasm
