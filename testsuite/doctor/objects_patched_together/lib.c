/*
 * lib.c of objects_patched_together: what the library says, and a function
 * the patient never calls (the test changes its first byte behind the
 * doctor's back).
 */
__attribute__((noipa)) const char *lib_word(void)
{
	return "lib-old";
}

__attribute__((noipa)) int lib_never(int x)
{
	return x + 1;
}
