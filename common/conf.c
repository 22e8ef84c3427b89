/* conf.c: not yet written. */
#include "config.h"
