//===- SharedLibrary.cpp - liblowbit_runtime.so ---------------------------===//
//
// The shared library's own translation unit. CMake needs a source for every
// library; all of the code comes whole from the LowbitRuntime archive, and
// runtime.map exports its C API (runtime.h) alone.
//
//===----------------------------------------------------------------------===//
