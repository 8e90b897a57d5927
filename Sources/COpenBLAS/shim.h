// Umbrella header for the system OpenBLAS CBLAS interface (Debian: libopenblas-dev).
#include <cblas.h>
