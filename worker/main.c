/* mlq-worker: placeholder until the agent lands. */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "mlq-worker: not implemented yet\n");
    return 1;
}
