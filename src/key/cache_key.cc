// CacheKey serialization. Layout (all integers little-endian):
//
//   "MKEY" u8(version=1)
//   'G' u32(len) graph_hash bytes
//   'I' u32(count)  then per input:  'S' u32(rank) rank*i64(dim)  'T' u8(dtype)
//   'D' u8(kind)    then  cpu: 'P' u8(isa) | cuda_compute: 'C' u8(major) u8(minor) | cuda_any: -
//   'N' u32(len) salt bytes
//   'E'
//
// Every field is preceded by its tag, every variable-length field by its
// length, so no two different keys share bytes.
#include <cstdio>
#include <sstream>

#include <mithril/key.h>

#include "key/byte_writer.h"
#include "util/format.h"
#include "util/hex.h"

namespace mithril {
namespace {

constexpr std::string_view kMagic = "MKEY";
constexpr std::size_t kMaxRank = 64;
constexpr std::size_t kMaxInputs = 1u << 16;

std::string hex_bytes(std::string_view s, std::size_t limit = 48) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (i) out += ' ';
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  if (s.size() > limit) out += " ...";
  return out;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      out += "\\x";
      out += detail::to_hex(std::string_view(&c, 1));
    }
  }
  return out;
}

}  // namespace

Result<void> CacheKey::validate() const {
  if (m_graph_hash.size() > UINT32_MAX || m_salt.size() > UINT32_MAX) {
    return fail(ErrorCode::kInvalidArgument, "key field longer than 4 GiB");
  }
  if (m_inputs.size() > kMaxInputs) return fail(ErrorCode::kInvalidArgument, "too many inputs");
  for (std::size_t i = 0; i < m_inputs.size(); ++i) {
    const auto& in = m_inputs[i];
    if (in.shape.size() > kMaxRank) {
      return fail(ErrorCode::kInvalidArgument, "input " + std::to_string(i) + ": rank > 64");
    }
    for (auto d : in.shape) {
      if (d < InputSpec::kDynamic) {
        return fail(ErrorCode::kInvalidArgument,
                    "input " + std::to_string(i) + ": dimension " + std::to_string(d) +
                        " (use -1 for a dynamic dimension)");
      }
    }
  }
  return {};
}

std::string CacheKey::serialize() const {
  detail::ByteWriter w;
  w.raw(kMagic);
  w.u8(kFormatVersion);
  w.tagged_string('G', m_graph_hash);
  w.u8('I');
  w.u32(static_cast<std::uint32_t>(m_inputs.size()));
  for (const auto& in : m_inputs) {
    w.u8('S');
    w.u32(static_cast<std::uint32_t>(in.shape.size()));
    for (auto d : in.shape) w.i64(d);
    w.u8('T');
    w.u8(static_cast<std::uint8_t>(in.dtype));
  }
  w.u8('D');
  w.u8(static_cast<std::uint8_t>(m_device.kind()));
  switch (m_device.kind()) {
    case DeviceClass::Kind::kCpu:
      w.u8('P');
      w.u8(static_cast<std::uint8_t>(m_device.isa()));
      break;
    case DeviceClass::Kind::kCudaCompute:
      w.u8('C');
      w.u8(static_cast<std::uint8_t>(m_device.major()));
      w.u8(static_cast<std::uint8_t>(m_device.minor()));
      break;
    case DeviceClass::Kind::kCudaAny:
      break;
    case DeviceClass::Kind::kCudaHost:
      w.u8('H');
      w.u8(static_cast<std::uint8_t>(m_device.major()));
      w.u8(static_cast<std::uint8_t>(m_device.minor()));
      w.u32(static_cast<std::uint32_t>(m_device.driver_major()));
      w.u8(static_cast<std::uint8_t>(m_device.isa()));
      break;
  }
  w.tagged_string('N', m_salt);
  w.u8('E');
  return w.take();
}

namespace {

// 'H' major minor driver(u32) isa, after the kind byte.
std::optional<DeviceClass> read_cuda_host(detail::ByteReader& r) {
  if (!r.expect_tag('H')) return std::nullopt;
  const auto major = r.u8();
  const auto minor = r.u8();
  const auto driver = r.u32();
  const auto isa = r.u8();
  if (!major || !minor || !driver || !isa || *driver > static_cast<std::uint32_t>(DeviceClass::kMaxDriverMajor) ||
      std::string_view(cpu_isa_name(static_cast<CpuIsa>(*isa))) == "UNKNOWN") {
    return std::nullopt;
  }
  auto made = DeviceClass::cuda_host(*major, *minor, static_cast<int>(*driver), static_cast<CpuIsa>(*isa));
  if (!made) return std::nullopt;
  return *made;
}

// The error of every malformed field of a serialized key, naming the field.
std::unexpected<Error> malformed_key(const char* why) {
  return fail(ErrorCode::kCorruption, std::string("malformed key bytes: ") + why);
}

Result<InputSpec> read_input(detail::ByteReader& r) {
  InputSpec spec;
  if (!r.expect_tag('S')) return malformed_key("shape tag");
  auto rank = r.u32();
  if (!rank || *rank > kMaxRank) return malformed_key("rank");
  for (std::uint32_t k = 0; k < *rank; ++k) {
    auto d = r.i64();
    if (!d || *d < InputSpec::kDynamic) return malformed_key("dimension");
    spec.shape.push_back(*d);
  }
  if (!r.expect_tag('T')) return malformed_key("dtype tag");
  auto dt = r.u8();
  if (!dt || std::string_view(dtype_name(static_cast<DType>(*dt))) == "unknown") return malformed_key("dtype");
  spec.dtype = static_cast<DType>(*dt);
  return spec;
}

Result<DeviceClass> read_device(detail::ByteReader& r) {
  if (!r.expect_tag('D')) return malformed_key("device tag");
  auto kind = r.u8();
  if (!kind) return malformed_key("device kind");
  switch (static_cast<DeviceClass::Kind>(*kind)) {
    case DeviceClass::Kind::kCpu: {
      if (!r.expect_tag('P')) return malformed_key("isa tag");
      auto isa = r.u8();
      if (!isa || std::string_view(cpu_isa_name(static_cast<CpuIsa>(*isa))) == "UNKNOWN") {
        return malformed_key("isa");
      }
      return DeviceClass::cpu(static_cast<CpuIsa>(*isa));
    }
    case DeviceClass::Kind::kCudaCompute: {
      if (!r.expect_tag('C')) return malformed_key("compute tag");
      auto major = r.u8();
      auto minor = r.u8();
      if (!major || !minor) return malformed_key("compute capability");
      return DeviceClass::cuda_compute(*major, *minor);
    }
    case DeviceClass::Kind::kCudaAny:
      return DeviceClass::cuda_any();
    case DeviceClass::Kind::kCudaHost: {
      auto host = read_cuda_host(r);
      if (!host) return malformed_key("cuda host device");
      return *host;
    }
    default:
      return malformed_key("device kind");
  }
}

}  // namespace

Result<CacheKey> CacheKey::deserialize(std::string_view bytes) {
  detail::ByteReader r(bytes);
  auto magic = r.raw(kMagic.size());
  if (!magic || *magic != kMagic) return malformed_key("no MKEY magic");
  auto version = r.u8();
  if (!version || *version != kFormatVersion) return malformed_key("unsupported format version");
  auto graph = r.tagged_string('G');
  if (!graph) return malformed_key("graph hash");
  if (!r.expect_tag('I')) return malformed_key("inputs tag");
  auto count = r.u32();
  if (!count || *count > kMaxInputs) return malformed_key("input count");
  std::vector<InputSpec> inputs;
  inputs.reserve(*count);
  for (std::uint32_t i = 0; i < *count; ++i) {
    MITHRIL_ASSIGN(InputSpec spec, read_input(r));
    inputs.push_back(std::move(spec));
  }
  MITHRIL_ASSIGN(DeviceClass device, read_device(r));
  auto salt = r.tagged_string('N');
  if (!salt) return malformed_key("salt");
  if (!r.expect_tag('E') || !r.at_end()) return malformed_key("trailing bytes");
  return CacheKey(std::string(*graph), std::move(inputs), device, std::string(*salt));
}

Digest CacheKey::digest() const { return blake3(serialize()); }

std::string CacheKey::debug_dump() const {
  // Re-walk the serialized bytes field by field so the dump shows exactly
  // what is hashed, with offsets.
  const std::string bytes = serialize();
  std::ostringstream out;
  std::size_t off = 0;
  const auto line = [&](std::size_t len, const std::string& what) {
    out << detail::str_format("%06zu  ", off) << what << "  [" << hex_bytes(std::string_view(bytes).substr(off, len)) << "]\n";
    off += len;
  };
  line(5, "magic MKEY version=" + std::to_string(kFormatVersion));
  line(5 + m_graph_hash.size(), "graph_hash len=" + std::to_string(m_graph_hash.size()) + " \"" +
                                    printable(m_graph_hash) + "\"");
  line(5, "inputs count=" + std::to_string(m_inputs.size()));
  for (std::size_t i = 0; i < m_inputs.size(); ++i) {
    const auto& in = m_inputs[i];
    std::string shape = "[";
    for (std::size_t k = 0; k < in.shape.size(); ++k) {
      if (k) shape += ", ";
      shape += in.shape[k] == InputSpec::kDynamic ? std::string("?") : std::to_string(in.shape[k]);
    }
    shape += "]";
    line(5 + 8 * in.shape.size(), "input[" + std::to_string(i) + "].shape " + shape);
    line(2, "input[" + std::to_string(i) + "].dtype " + dtype_name(in.dtype));
  }
  const std::size_t dev_len = m_device.kind() == DeviceClass::Kind::kCpu          ? 4
                              : m_device.kind() == DeviceClass::Kind::kCudaCompute ? 5
                              : m_device.kind() == DeviceClass::Kind::kCudaHost    ? 10
                                                                                   : 2;
  line(dev_len, "device " + m_device.to_string());
  line(5 + m_salt.size(), "salt len=" + std::to_string(m_salt.size()) + " \"" + printable(m_salt) + "\"");
  line(1, "end");
  out << "blake3 " << digest().to_hex() << "\n";
  return out.str();
}

namespace {

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t k = 0; k < shape.size(); ++k) {
    if (k) out += ", ";
    out += shape[k] == InputSpec::kDynamic ? std::string("?") : std::to_string(shape[k]);
  }
  return out + "]";
}

}  // namespace

std::vector<std::string> diff_keys(const CacheKey& wanted, const CacheKey& cached) {
  std::vector<std::string> out;
  const auto quoted = [](const std::string& s) {
    std::string q(1, '"');  // built by appending: GCC 12 -O3 warns on "lit" + string&&
    q += printable(s);
    q += '"';
    return q;
  };
  if (wanted.graph_hash() != cached.graph_hash()) {
    out.push_back("graph_hash: " + quoted(wanted.graph_hash()) + " vs " + quoted(cached.graph_hash()));
  }
  const auto& a = wanted.inputs();
  const auto& b = cached.inputs();
  if (a.size() != b.size()) {
    out.push_back("inputs: " + std::to_string(a.size()) + " vs " + std::to_string(b.size()));
  }
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const std::string at = "input[" + std::to_string(i) + "]";
    if (a[i].shape != b[i].shape) out.push_back(at + ".shape: " + shape_text(a[i].shape) + " vs " + shape_text(b[i].shape));
    if (a[i].dtype != b[i].dtype) {
      out.push_back(at + ".dtype: " + dtype_name(a[i].dtype) + " vs " + dtype_name(b[i].dtype));
    }
  }
  if (!(wanted.device() == cached.device())) {
    out.push_back("device: " + wanted.device().to_string() + " vs " + cached.device().to_string());
  }
  if (wanted.salt() != cached.salt()) out.push_back("salt: " + quoted(wanted.salt()) + " vs " + quoted(cached.salt()));
  return out;
}

CacheKey CacheKey::with_device(DeviceClass device) const {
  CacheKey k = *this;
  k.m_device = device;
  return k;
}

}  // namespace mithril
