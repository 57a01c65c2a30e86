// The WASI host's filesystem: preopens, files, directories, links, and the
// sandbox boundary (every escape must fail with ENOTCAPABLE and change
// nothing outside).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "wasm/wasi/wasi.h"
#include "wasm/wasi/wasi_test_util.h"

namespace aether::wasm::testing {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kEbadf = 8, kEexist = 20, kEinval = 28, kEisdir = 31, kEloop = 32, kEmfile = 33,
                   kEnametoolong = 37, kEnoent = 44, kEnotdir = 54, kEnotempty = 55,
                   kEnotcapable = 76, kEfault = 21;
constexpr uint64_t kAllRights = (1ull << 30) - 1;
constexpr uint32_t kFollow = 1;
constexpr uint32_t kCreat = 1, kDirectory = 2, kExcl = 4, kTrunc = 8;
constexpr uint32_t kRoot = 3;  // the preopen

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class WasiFsTest : public WasiFixture {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/aether_wasi_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    box_ = top_ / "box";
    fs::create_directory(box_);
    std::ofstream(top_ / "secret.txt") << "SECRET";
    std::ofstream(box_ / "hello.txt") << "hello";
    fs::create_symlink("/", box_ / "to_root");
    fs::create_symlink("../..", box_ / "up_up");
    fs::create_symlink(top_ / "secret.txt", box_ / "abs_secret");
    fs::create_symlink("../secret.txt", box_ / "rel_secret");
    fs::create_symlink("hello.txt", box_ / "good_link");
    WasiOptions o;
    o.preopens.push_back({box_.string(), "/sandbox"});
    o.max_fds = 8;
    Init(o);
  }
  void TearDown() override { fs::remove_all(top_); }

  // Path arguments: guest pointer and length.
  uint32_t P(std::string_view s) { return Put(s); }
  uint32_t L(std::string_view s) { return static_cast<uint32_t>(s.size()); }

  uint32_t Open(std::string_view path, uint32_t oflags, uint32_t* fd, uint32_t lookup = kFollow,
                uint64_t rights = kAllRights, uint32_t dir = kRoot) {
    uint32_t out = Alloc(4);
    uint32_t err =
        Call("path_open", dir, lookup, P(path), L(path), oflags, rights, kAllRights, 0u, out);
    *fd = U32(out);
    return err;
  }
  uint32_t OpenErr(std::string_view path, uint32_t oflags = 0, uint32_t lookup = kFollow) {
    uint32_t fd;
    uint32_t err = Open(path, oflags, &fd, lookup);
    if (err == 0) Call("fd_close", fd);
    return err;
  }
  uint32_t Filetype(std::string_view path, uint32_t lookup, uint32_t* err = nullptr) {
    uint32_t st = Alloc(64);
    uint32_t e = Call("path_filestat_get", kRoot, lookup, P(path), L(path), st);
    if (err != nullptr) *err = e;
    return mem_[st + 16];
  }

  fs::path top_, box_;
};

TEST_F(WasiFsTest, PrestatNamesThePreopen) {
  uint32_t ps = Alloc(8);
  ASSERT_EQ(Call("fd_prestat_get", kRoot, ps), 0u);
  EXPECT_EQ(mem_[ps], 0) << "tag: dir";
  EXPECT_EQ(U32(ps + 4), 8u);
  uint32_t name = Alloc(8);
  ASSERT_EQ(Call("fd_prestat_dir_name", kRoot, name, 8u), 0u);
  EXPECT_EQ(Str(name, 8), "/sandbox");
  EXPECT_EQ(Call("fd_prestat_dir_name", kRoot, name, 7u), kEnametoolong);
  EXPECT_EQ(Call("fd_prestat_get", 4u, ps), kEbadf);
  uint32_t st = Alloc(24);
  ASSERT_EQ(Call("fd_fdstat_get", kRoot, st), 0u);
  EXPECT_EQ(mem_[st], 3) << "directory";
  EXPECT_NE(U64(st + 16) & (1u << 1), 0u) << "files opened beneath may be read";
}

TEST_F(WasiFsTest, CreateWriteSeekReadStat) {
  uint32_t fd;
  ASSERT_EQ(Open("new.txt", kCreat | kExcl, &fd), 0u);
  EXPECT_EQ(fd, 4u);
  ASSERT_EQ(Write(fd, "0123456789"), 0u);
  uint32_t pos = Alloc(8);
  ASSERT_EQ(Call("fd_seek", fd, uint64_t{2}, 0u, pos), 0u);
  EXPECT_EQ(U64(pos), 2u);
  EXPECT_EQ(Read(fd, 3), "234");
  ASSERT_EQ(Call("fd_tell", fd, pos), 0u);
  EXPECT_EQ(U64(pos), 5u);
  ASSERT_EQ(Call("fd_seek", fd, static_cast<uint64_t>(-2), 2u, pos), 0u);
  EXPECT_EQ(U64(pos), 8u);

  uint32_t buf = Alloc(4), n = Alloc(4);
  ASSERT_EQ(Call("fd_pwrite", fd, Iov(Put("AB"), 2), 1u, uint64_t{0}, n), 0u);
  ASSERT_EQ(Call("fd_pread", fd, Iov(buf, 4), 1u, uint64_t{0}, n), 0u);
  EXPECT_EQ(Str(buf, U32(n)), "AB23");

  uint32_t st = Alloc(64);
  ASSERT_EQ(Call("fd_filestat_get", fd, st), 0u);
  EXPECT_EQ(mem_[st + 16], 4) << "regular file";
  EXPECT_EQ(U64(st + 32), 10u);
  ASSERT_EQ(Call("fd_filestat_set_size", fd, uint64_t{4}), 0u);
  ASSERT_EQ(
      Call("fd_filestat_set_times", fd, uint64_t{5'000'000'000}, uint64_t{7'000'000'000}, 1u | 4u),
      0u);
  ASSERT_EQ(Call("fd_filestat_get", fd, st), 0u);
  EXPECT_EQ(U64(st + 32), 4u);
  EXPECT_EQ(U64(st + 48), 7'000'000'000u);
  EXPECT_EQ(Call("fd_allocate", fd, uint64_t{0}, uint64_t{16}), 0u);
  EXPECT_EQ(Call("fd_advise", fd, uint64_t{0}, uint64_t{0}, 1u), 0u);
  EXPECT_EQ(Call("fd_datasync", fd), 0u);
  EXPECT_EQ(Call("fd_sync", fd), 0u);
  ASSERT_EQ(Call("fd_close", fd), 0u);
  EXPECT_EQ(Slurp(box_ / "new.txt").substr(0, 4), "AB23");

  EXPECT_EQ(OpenErr("new.txt", kCreat | kExcl), kEexist);
  EXPECT_EQ(OpenErr("missing.txt"), kEnoent);
  EXPECT_EQ(OpenErr("hello.txt", kDirectory), kEnotdir);
  ASSERT_EQ(Open("hello.txt", kTrunc, &fd), 0u);
  Call("fd_close", fd);
  EXPECT_EQ(fs::file_size(box_ / "hello.txt"), 0u);
}

TEST_F(WasiFsTest, ReadOnlyRightsOpenReadOnly) {
  uint32_t fd;
  ASSERT_EQ(Open("hello.txt", 0, &fd, kFollow, (1u << 1) | (1u << 2) | (1u << 21)), 0u);
  EXPECT_EQ(Read(fd, 10), "hello");
  EXPECT_EQ(Write(fd, "x"), kEbadf);
  uint32_t st = Alloc(24);
  ASSERT_EQ(Call("fd_fdstat_get", fd, st), 0u);
  EXPECT_EQ(U64(st + 8) & (1u << 6), 0u) << "no fd_write right";
}

TEST_F(WasiFsTest, DirectoriesReopenWithTheirOwnRightsButNeverForWriting) {
  uint32_t st = Alloc(24);
  ASSERT_EQ(Call("fd_fdstat_get", kRoot, st), 0u);
  uint64_t base = U64(st + 8), inheriting = U64(st + 16);
  // The preopen's own rights include fd_datasync, which needs no write access.
  uint32_t out = Alloc(4);
  ASSERT_EQ(Call("path_open", kRoot, 0u, P("."), 1u, 0u, base, inheriting, 0u, out), 0u);
  EXPECT_EQ(Call("fd_close", U32(out)), 0u);
  ASSERT_EQ(Call("path_open", kRoot, 0u, P("."), 1u, kDirectory, uint64_t{0}, uint64_t{0}, 0u, out),
            0u);
  EXPECT_EQ(Call("fd_close", U32(out)), 0u);
  constexpr uint64_t kRead = 1u << 1, kWrite = 1u << 6;
  EXPECT_EQ(
      Call("path_open", kRoot, 0u, P("."), 1u, kDirectory, kRead | kWrite, uint64_t{0}, 0u, out),
      kEisdir);
  EXPECT_EQ(Call("path_open", kRoot, 0u, P("."), 1u, 0u, kWrite, uint64_t{0}, 0u, out), kEisdir);
}

TEST_F(WasiFsTest, ReaddirListsEntriesAndResumesFromCookies) {
  fs::create_directory(box_ / "d");
  std::set<std::string> want = {".", ".."};
  for (int i = 0; i < 20; ++i) {
    std::string name = "file_with_a_longish_name_" + std::to_string(i);
    std::ofstream(box_ / "d" / name) << i;
    want.insert(name);
  }
  fs::create_directory(box_ / "d" / "sub");
  want.insert("sub");
  uint32_t dir;
  ASSERT_EQ(Open("d", kDirectory, &dir, kFollow, kAllRights & ~uint64_t{1u << 6}), 0u)
      << "all but fd_write (a directory never opens for writing)";

  // A small buffer forces many calls; each resumes from the last whole entry.
  std::set<std::string> got;
  uint64_t cookie = 0;
  const uint32_t kBuf = 100;
  uint32_t buf = Alloc(kBuf), used = Alloc(4);
  bool saw_sub_as_dir = false;
  for (int calls = 0; calls < 200; ++calls) {
    ASSERT_EQ(Call("fd_readdir", dir, buf, kBuf, cookie, used), 0u);
    uint32_t n = U32(used), off = 0;
    while (off + 24 <= n) {
      uint32_t namlen = U32(buf + off + 16);
      if (off + 24 + namlen > n) break;  // cut off: ask again from `cookie`
      std::string name = Str(buf + off + 24, namlen);
      got.insert(name);
      if (name == "sub") saw_sub_as_dir = mem_[buf + off + 20] == 3;
      cookie = U64(buf + off);
      off += 24 + namlen;
    }
    if (n < kBuf) break;  // the end
  }
  EXPECT_EQ(got, want);
  EXPECT_TRUE(saw_sub_as_dir);
  EXPECT_EQ(Call("fd_readdir", 0u, buf, kBuf, uint64_t{0}, used), kEnotdir);
  EXPECT_EQ(Call("fd_readdir", dir, kMemSize - 10, kBuf, uint64_t{0}, used), kEfault);
}

TEST_F(WasiFsTest, DirectoriesRenameUnlink) {
  ASSERT_EQ(Call("path_create_directory", kRoot, P("a"), 1u), 0u);
  ASSERT_EQ(Call("path_create_directory", kRoot, P("a/b/"), 4u), 0u);
  EXPECT_EQ(Call("path_create_directory", kRoot, P("a"), 1u), kEexist);
  EXPECT_EQ(Call("path_create_directory", kRoot, P("."), 1u), kEexist);
  EXPECT_TRUE(fs::is_directory(box_ / "a" / "b"));
  EXPECT_EQ(Call("path_remove_directory", kRoot, P("a"), 1u), kEnotempty);
  ASSERT_EQ(Call("path_rename", kRoot, P("hello.txt"), 9u, kRoot, P("a/b/moved.txt"), 13u), 0u);
  EXPECT_EQ(Slurp(box_ / "a" / "b" / "moved.txt"), "hello");
  EXPECT_EQ(Call("path_unlink_file", kRoot, P("a/b"), 3u), kEisdir);
  ASSERT_EQ(Call("path_unlink_file", kRoot, P("a/b/moved.txt"), 13u), 0u);
  EXPECT_FALSE(fs::exists(box_ / "a" / "b" / "moved.txt"));
  ASSERT_EQ(Call("path_remove_directory", kRoot, P("a/b"), 3u), 0u);
  // A final ".." is never acted on, so it cannot reach the directory above.
  EXPECT_EQ(Call("path_remove_directory", kRoot, P("a/../.."), 7u), kEnotempty);
  EXPECT_EQ(Call("path_remove_directory", kRoot, P("a/../../box"), 11u), kEnotcapable);
  EXPECT_TRUE(fs::exists(box_));
  EXPECT_EQ(Call("path_unlink_file", kRoot, P(""), 0u), kEnoent);
  EXPECT_EQ(Call("path_unlink_file", kRoot, kMemSize - 1, 2u), kEfault);
  EXPECT_EQ(Call("path_unlink_file", kRoot, P(std::string("a\0b", 3)), 3u), kEinval);
  EXPECT_EQ(Call("path_unlink_file", 1u, P("x"), 1u), kEnotdir);
}

TEST_F(WasiFsTest, SymlinksReadlinkStatAndHardLinks) {
  ASSERT_EQ(Call("path_symlink", P("hello.txt"), 9u, kRoot, P("link2"), 5u), 0u);
  uint32_t buf = Alloc(64), used = Alloc(4);
  ASSERT_EQ(Call("path_readlink", kRoot, P("link2"), 5u, buf, 64u, used), 0u);
  EXPECT_EQ(Str(buf, U32(used)), "hello.txt");
  ASSERT_EQ(Call("path_readlink", kRoot, P("link2"), 5u, buf, 3u, used), 0u);
  EXPECT_EQ(U32(used), 3u) << "truncated like POSIX readlink";
  EXPECT_EQ(Call("path_readlink", kRoot, P("hello.txt"), 9u, buf, 64u, used), kEinval);
  // Reading where a link points is harmless, even when it points out.
  ASSERT_EQ(Call("path_readlink", kRoot, P("to_root"), 7u, buf, 64u, used), 0u);
  EXPECT_EQ(Str(buf, U32(used)), "/");

  EXPECT_EQ(Filetype("link2", 0), 7u) << "symlink itself";
  EXPECT_EQ(Filetype("link2", kFollow), 4u) << "its target";
  uint32_t fd;
  EXPECT_EQ(Open("link2", 0, &fd, /*lookup=*/0), kEloop);
  ASSERT_EQ(Open("link2", 0, &fd, kFollow), 0u);
  EXPECT_EQ(Read(fd, 10), "hello");

  ASSERT_EQ(Call("path_filestat_set_times", kRoot, kFollow, P("link2"), 5u, uint64_t{0},
                 uint64_t{3'000'000'000}, 4u),
            0u);
  struct stat st;
  ASSERT_EQ(stat((box_ / "hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 3);

  ASSERT_EQ(Call("path_link", kRoot, 0u, P("hello.txt"), 9u, kRoot, P("hard"), 4u), 0u);
  EXPECT_EQ(fs::hard_link_count(box_ / "hello.txt"), 2u);
  // Following a symlink source links its target, not the link.
  ASSERT_EQ(Call("path_link", kRoot, kFollow, P("link2"), 5u, kRoot, P("hard2"), 5u), 0u);
  EXPECT_FALSE(fs::is_symlink(box_ / "hard2"));
  EXPECT_EQ(fs::hard_link_count(box_ / "hello.txt"), 3u);
  EXPECT_EQ(Call("path_link", kRoot, 0u, P("hello.txt"), 9u, kRoot, P("hard"), 4u), kEexist);
  EXPECT_EQ(Call("path_unlink_file", kRoot, P("link2"), 5u), 0u);
  EXPECT_TRUE(fs::exists(box_ / "hello.txt"));

  // A trailing slash names a directory: over a file it is ENOTDIR, over a
  // directory EEXIST, and with nothing there ENOENT.
  EXPECT_EQ(Call("path_symlink", P("x"), 1u, kRoot, P("hello.txt/"), 10u), kEnotdir);
  fs::create_directory(box_ / "dir");
  EXPECT_EQ(Call("path_symlink", P("x"), 1u, kRoot, P("dir/"), 4u), kEexist);
  EXPECT_EQ(Call("path_symlink", P("x"), 1u, kRoot, P("none/"), 5u), kEnoent);
  EXPECT_EQ(Call("path_symlink", P("x"), 1u, kRoot, P("hello.txt"), 9u), kEexist);
}

TEST_F(WasiFsTest, EscapesAreRefused) {
  fs::create_directory(box_ / "sub");
  const std::string kEsc[] = {
      "../secret.txt", "/etc/passwd", "to_root/etc/passwd",   "up_up/etc/passwd", "abs_secret",
      "rel_secret",    "..",          "sub/../../secret.txt", "to_root",          "up_up"};
  for (const std::string& p : kEsc) {
    EXPECT_EQ(OpenErr(p), kEnotcapable) << p;
    uint32_t err;
    Filetype(p, kFollow, &err);
    EXPECT_EQ(err, kEnotcapable) << p;
  }
  EXPECT_EQ(OpenErr("to_root", kDirectory), kEnotcapable);
  EXPECT_EQ(OpenErr("../escape.txt", kCreat), kEnotcapable);
  EXPECT_EQ(OpenErr("rel_secret", kCreat | kTrunc), kEnotcapable);
  EXPECT_EQ(Call("path_create_directory", kRoot, P("../evil"), 7u), kEnotcapable);
  EXPECT_EQ(Call("path_create_directory", kRoot, P("to_root/tmp/evil"), 16u), kEnotcapable);
  EXPECT_EQ(Call("path_unlink_file", kRoot, P("../secret.txt"), 13u), kEnotcapable);
  EXPECT_EQ(Call("path_unlink_file", kRoot, P("up_up/secret.txt"), 16u), kEnotcapable);
  EXPECT_EQ(Call("path_rename", kRoot, P("hello.txt"), 9u, kRoot, P("../stolen"), 9u),
            kEnotcapable);
  EXPECT_EQ(Call("path_rename", kRoot, P("../secret.txt"), 13u, kRoot, P("got"), 3u), kEnotcapable);
  EXPECT_EQ(Call("path_symlink", P("/etc/passwd"), 11u, kRoot, P("new_abs"), 7u), kEnotcapable);
  EXPECT_EQ(Call("path_symlink", P("x"), 1u, kRoot, P("../outside_link"), 15u), kEnotcapable);
  EXPECT_EQ(Call("path_link", kRoot, kFollow, P("rel_secret"), 10u, kRoot, P("h"), 1u),
            kEnotcapable);
  EXPECT_EQ(Call("path_link", kRoot, kFollow, P("abs_secret"), 10u, kRoot, P("h"), 1u),
            kEnotcapable);
  EXPECT_EQ(Call("path_link", kRoot, 0u, P("../secret.txt"), 13u, kRoot, P("h"), 1u), kEnotcapable);
  EXPECT_EQ(Call("path_filestat_set_times", kRoot, kFollow, P("rel_secret"), 10u, uint64_t{0},
                 uint64_t{0}, 4u),
            kEnotcapable);
  uint32_t buf = Alloc(64), used = Alloc(4);
  EXPECT_EQ(Call("path_readlink", kRoot, P("up_up/x"), 7u, buf, 64u, used), kEnotcapable);
  // A guest-made relative link that climbs out does not resolve either.
  ASSERT_EQ(Call("path_symlink", P("../../../../../../etc"), 21u, kRoot, P("climb"), 5u), 0u);
  EXPECT_EQ(OpenErr("climb/passwd"), kEnotcapable);

  // Nothing outside changed.
  EXPECT_EQ(Slurp(top_ / "secret.txt"), "SECRET");
  EXPECT_FALSE(fs::exists(top_ / "evil"));
  EXPECT_FALSE(fs::exists(top_ / "escape.txt"));
  EXPECT_FALSE(fs::exists(top_ / "stolen"));
  EXPECT_FALSE(fs::exists(top_ / "outside_link"));
  EXPECT_FALSE(fs::exists(box_ / "h"));
  // Without follow, a symlink to the outside is just a symlink inside.
  EXPECT_EQ(Filetype("abs_secret", 0), 7u);
  EXPECT_EQ(Filetype("good_link", kFollow), 4u);
}

TEST_F(WasiFsTest, FdTableHasALimit) {
  std::vector<uint32_t> fds;
  uint32_t fd, err = 0;
  while ((err = Open("hello.txt", 0, &fd)) == 0) fds.push_back(fd);
  EXPECT_EQ(err, kEmfile);
  EXPECT_EQ(fds.size(), 4u);  // 3 stdio + preopen + 4 = max_fds 8
  ASSERT_EQ(Call("fd_close", fds[1]), 0u);
  ASSERT_EQ(Open("hello.txt", 0, &fd), 0u);
  EXPECT_EQ(fd, fds[1]) << "lowest free number is reused";
}

}  // namespace
}  // namespace aether::wasm::testing
