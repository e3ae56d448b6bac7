// The answer of the Blob service's List Blobs (restype=container&comp=list&delimiter=/), read
// without a general XML library: a strict scanner that walks the text once, keeps the path of the
// open elements and takes only EnumerationResults/Blobs/Blob/{Name, Properties/Content-Length,
// Properties/Last-Modified}, EnumerationResults/Blobs/BlobPrefix/Name and
// EnumerationResults/NextMarker. Anything it does not know is skipped but must be well formed;
// DOCTYPEs, comments, CDATA, unknown entities, mismatched tags, more than 16 levels, more than
// 8 MiB or 5000 entries are errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace batchai::cp {

inline constexpr std::size_t kMaxBlobListBytes = 8 * 1024 * 1024;

struct BlobItem {
  std::string name;  // the whole blob name, entities decoded
  std::int64_t size = 0;
  std::int64_t last_modified_ms = 0;
};

struct BlobListPage {
  std::vector<BlobItem> blobs;
  std::vector<std::string> prefixes;  // BlobPrefix names ("dir/sub/"), entities decoded
  std::string next_marker;            // "" on the last page
};

Result<BlobListPage> parse_blob_list(std::string_view xml);

// XML character data with its entities (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;) decoded into
// UTF-8; a raw '<' or '&' outside an entity, an unknown entity or a character XML does not allow
// (NUL, surrogates, above U+10FFFF) is an error.
Result<std::string> decode_xml_text(std::string_view text);

// Milliseconds since the epoch of an RFC 1123 date as HTTP and the Blob service write it:
// "Sun, 06 Nov 1994 08:49:37 GMT".
Result<std::int64_t> parse_rfc1123_ms(std::string_view text);

}  // namespace batchai::cp
