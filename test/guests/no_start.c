// guest-flags: -mexec-model=reactor -Wl,--export=foo
// A reactor module: exports foo and _initialize but no _start, so `twine run` must refuse it.
__attribute__((visibility("default"))) int foo(int x) { return x + 1; }
