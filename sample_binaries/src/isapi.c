/* kbscan test fixture: a tiny Windows DLL that does nothing (the stand-in for nsiislog.dll).
 * It is NOT Microsoft software; only its version resource matters to the tests. */
#include <windows.h>

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
