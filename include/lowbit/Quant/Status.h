//===- Status.h - Success or an error message ------------------*- C++ -*-===//
//
// lowbit builds without exceptions (as LLVM does), so the plain-C++ libraries
// report failure with a Status that carries a message naming what is wrong
// and where.
//
//===----------------------------------------------------------------------===//
#ifndef LOWBIT_QUANT_STATUS_H
#define LOWBIT_QUANT_STATUS_H

#include <string>
#include <utility>

namespace lowbit {

class [[nodiscard]] Status {
public:
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool isOk() const { return !failed_; }
  bool failed() const { return failed_; }
  const std::string &message() const { return message_; }

  /// Prefixes the message with where it happened ("tensor 'x': ...").
  Status &context(const std::string &where) {
    if (failed_)
      message_ = where + ": " + message_;
    return *this;
  }

private:
  Status() = default;
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}

  bool failed_ = false;
  std::string message_;
};

} // namespace lowbit

#endif // LOWBIT_QUANT_STATUS_H
