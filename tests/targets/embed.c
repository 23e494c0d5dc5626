/* A program that embeds libpython3.14 the way plain embedders do (no Py_RunMain), so that
   interpreters.threads_main stays NULL. It runs the Python code given as argv[1]. */
#include <Python.h>
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    Py_Initialize();
    int rc = PyRun_SimpleString(argv[1]);
    Py_FinalizeEx();
    return rc ? 1 : 0;
}
