/* The program keeps a callback and a label that setup() chooses once; the
 * main loop calls setup(), then the callback, and prints the label, every
 * 50 ms.  The patched setup() stores a NEW function as the callback and a
 * NEW string literal as the label: pointers into the patch region that the
 * program keeps after the patch is taken out. */
#include <stdio.h>
#include <unistd.h>

static void (*callback)(void);
static const char *label;

static void old_callback(void)
{
	printf("callback old\n");
}

__attribute__((noipa)) void setup(void)
{
	if (!callback) {
		callback = old_callback;
		label = "label old";
	}
}

int main(void)
{
	printf("token %s\n", LC_TOKEN);
	fflush(stdout);
	for (;;) {
		setup();
		callback();
		printf("%s\n", label);
		fflush(stdout);
		usleep(50000);
	}
}
