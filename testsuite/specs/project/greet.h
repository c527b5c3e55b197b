void greet(int n);
