//===- GgmlType.cpp - ggml tensor types and their geometry ----------------===//

#include "lowbit/Quant/GgmlType.h"

#include <array>
#include <cctype>

namespace lowbit::quant {
namespace {

constexpr std::array<GgmlTypeInfo, 19> kTypes = {{
    {GgmlType::F32, "F32", 1, 4},       {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 18},   {GgmlType::Q4_1, "Q4_1", 32, 20},
    {GgmlType::Q5_0, "Q5_0", 32, 22},   {GgmlType::Q5_1, "Q5_1", 32, 24},
    {GgmlType::Q8_0, "Q8_0", 32, 34},   {GgmlType::Q8_1, "Q8_1", 32, 36},
    {GgmlType::Q2_K, "Q2_K", 256, 84},  {GgmlType::Q3_K, "Q3_K", 256, 110},
    {GgmlType::Q4_K, "Q4_K", 256, 144}, {GgmlType::Q5_K, "Q5_K", 256, 176},
    {GgmlType::Q6_K, "Q6_K", 256, 210}, {GgmlType::Q8_K, "Q8_K", 256, 292},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18}, {GgmlType::IQ4_XS, "IQ4_XS", 256, 136},
    {GgmlType::BF16, "BF16", 1, 2},     {GgmlType::TQ1_0, "TQ1_0", 256, 54},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66},
}};

// The GGUF block format kinds and their ggml types, in FormatKind order.
constexpr std::array<std::pair<FormatKind, GgmlType>, 14> kBlockKinds = {{
    {FormatKind::Q4_0, GgmlType::Q4_0},   {FormatKind::Q4_1, GgmlType::Q4_1},
    {FormatKind::Q5_0, GgmlType::Q5_0},   {FormatKind::Q5_1, GgmlType::Q5_1},
    {FormatKind::Q8_0, GgmlType::Q8_0},   {FormatKind::Q2_K, GgmlType::Q2_K},
    {FormatKind::Q3_K, GgmlType::Q3_K},   {FormatKind::Q4_K, GgmlType::Q4_K},
    {FormatKind::Q5_K, GgmlType::Q5_K},   {FormatKind::Q6_K, GgmlType::Q6_K},
    {FormatKind::IQ4_NL, GgmlType::IQ4_NL}, {FormatKind::IQ4_XS, GgmlType::IQ4_XS},
    {FormatKind::TQ1_0, GgmlType::TQ1_0}, {FormatKind::TQ2_0, GgmlType::TQ2_0},
}};

} // namespace

const GgmlTypeInfo *ggmlTypeInfo(uint32_t id) {
  for (const GgmlTypeInfo &info : kTypes)
    if (static_cast<uint32_t>(info.type) == id)
      return &info;
  return nullptr;
}

const GgmlTypeInfo &ggmlTypeInfo(GgmlType type) { return *ggmlTypeInfo(static_cast<uint32_t>(type)); }

std::optional<GgmlType> parseGgmlType(std::string_view name) {
  for (const GgmlTypeInfo &info : kTypes) {
    if (info.name.size() != name.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == info.name[i];
    if (same)
      return info.type;
  }
  return std::nullopt;
}

std::optional<GgmlType> ggmlTypeOf(FormatKind kind) {
  for (auto [k, type] : kBlockKinds)
    if (k == kind)
      return type;
  return std::nullopt;
}

std::optional<FormatKind> formatKindOf(GgmlType type) {
  for (auto [kind, t] : kBlockKinds)
    if (t == type)
      return kind;
  return std::nullopt;
}

} // namespace lowbit::quant
