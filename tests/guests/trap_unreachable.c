/* trap_unreachable: executes the wasm `unreachable` instruction. */
int main(void) { __builtin_trap(); }
