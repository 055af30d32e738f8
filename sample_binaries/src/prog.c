/* kbscan test fixture: a tiny Windows console program that does nothing.
 * It is NOT Microsoft software; only its version resource matters to the tests. */
int main(void) { return 0; }
