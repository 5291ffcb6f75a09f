// Seed S19: the greenlet module's explicit switching.
//
//   from greenlet import greenlet
//   def test1(): print(11111111); gr2.switch(); print(33333333); gr2.switch()
//   def test2(): print(22222222); gr1.switch(); print(44444444)
//   gr1 = greenlet(test1); gr2 = greenlet(test2); gr1.switch()
#include <braid/coro.hpp>

#include <cstdio>

int main() {
  braid::Greenlet* gr1 = nullptr;
  braid::Greenlet* gr2 = nullptr;
  braid::Greenlet test1([&] {
    std::puts("11111111");
    gr2->switch_to();
    std::puts("33333333");
    gr2->switch_to();
  });
  braid::Greenlet test2([&] {
    std::puts("22222222");
    gr1->switch_to();
    std::puts("44444444");
  });
  gr1 = &test1;
  gr2 = &test2;
  gr1->switch_to();
  // test2 finished, so control came back to its parent, main. test1 is still suspended
  // in its second switch, exactly as in Python; destroying it unwinds its stack.
  std::printf("gr1 dead: %s, gr2 dead: %s\n", gr1->dead() ? "True" : "False",
              gr2->dead() ? "True" : "False");
}
