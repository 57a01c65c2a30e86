/* spin: an infinite loop that never calls the host (for timeout tests). */
int main(void) {
  volatile unsigned long x = 0;
  for (;;) x++;
}
