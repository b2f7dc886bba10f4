/* For running berth.exe under Wine only; never shipped. Wine 8.0 (Debian 12) has no
 * bcryptprimitives.dll, which Rust's standard library imports on Windows since 1.78
 * (ProcessPrng, its source of random numbers); Windows 10 and later ship it. This DLL gives Wine
 * that one export over RtlGenRandom (advapi32's SystemFunction036), which Wine implements. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x7fffffff ? 0x7fffffff : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
