#include <braid/net/detail/op_allocator.hpp>

#include <array>

namespace braid::net::detail {

namespace {

constexpr std::size_t kGranule = 64;     // size-class width
constexpr std::size_t kClasses = 16;     // up to 1 KiB
constexpr std::size_t kMaxCached = 256;  // blocks kept per class and thread

struct FreeBlock {
  FreeBlock* next;
};

struct FreeLists {
  std::array<FreeBlock*, kClasses> head{};
  std::array<std::size_t, kClasses> count{};
  ~FreeLists() {
    for (FreeBlock* b : head) {
      while (b != nullptr) {
        FreeBlock* next = b->next;
        ::operator delete(b);
        b = next;
      }
    }
  }
};

thread_local FreeLists t_lists;

std::size_t size_class(std::size_t size) noexcept { return (size + kGranule - 1) / kGranule - 1; }

}  // namespace

void* op_allocate(std::size_t size) {
  const std::size_t c = size_class(size == 0 ? 1 : size);
  if (c >= kClasses) return ::operator new(size);
  FreeLists& lists = t_lists;
  if (FreeBlock* b = lists.head[c]) {
    lists.head[c] = b->next;
    --lists.count[c];
    return b;
  }
  return ::operator new((c + 1) * kGranule);
}

void op_deallocate(void* p, std::size_t size) noexcept {
  if (p == nullptr) return;
  const std::size_t c = size_class(size == 0 ? 1 : size);
  FreeLists& lists = t_lists;
  if (c >= kClasses || lists.count[c] >= kMaxCached) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = lists.head[c];
  lists.head[c] = b;
  ++lists.count[c];
}

}  // namespace braid::net::detail
