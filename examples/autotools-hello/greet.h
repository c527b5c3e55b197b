/* greet.h - the one function of libgreet.so. */
#ifndef GREET_H
#define GREET_H
void greet(int n, const char *mood);
#endif
