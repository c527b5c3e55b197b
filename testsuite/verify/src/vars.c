/* A second unit: two variables whose order a "patched" build swaps. */
int alpha = 1;
int beta = 2;
int get_alpha(void) { return alpha; }
int get_beta(void) { return beta; }
