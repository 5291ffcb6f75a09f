# braid's gdb helper. In gdb (a live process or a core file):
#
#   (gdb) source tools/braid-gdb.py
#   (gdb) braid coroutines            every hub of every thread
#   (gdb) braid coroutines HUB        one hub, given as an expression (a braid::Hub*)
#
# For each coroutine: id, name, state, what it waits on, and the backtrace of a suspended
# one, unwound from the context Boost.Context saved when it switched away.
#
# How the stacks are shown: a suspended coroutine's registers live on its own stack, where
# jump_fcontext stored them (braid::detail::FiberRecord::cont.fctx_ points at that frame).
# A gdb Python unwinder, active only while this command walks one coroutine, tells gdb that
# the caller of the thread's innermost frame has exactly those registers; gdb's own DWARF
# unwinding then does the rest (inlined frames, -O2 code). Nothing is written to the
# target, so it works on core files as well as on live processes. The offsets of the saved
# registers are read from the disassembly of jump_fcontext in the loaded Boost.Context, so
# a Boost built with another layout (e.g. with a shadow-stack slot) is still read right.
#
# Field names (FiberRecord, Hub) are looked up by name, never by offset. x86-64 only.

import re

import gdb
import gdb.unwinder

# Where the calling thread's hub is: `thread_local Hub* t_hub` in an anonymous namespace
# in runtime/src/hub.cpp. Spellings differ between gdb versions and compilers.
_HUB_SYMBOLS = (
    "'braid::(anonymous namespace)::t_hub'",
    "braid::(anonymous namespace)::t_hub",
    "'braid::t_hub'",
)

# jump_fcontext's frame in Debian's Boost 1.81 (jump_x86_64_sysv_elf_gas.S): mxcsr and x87
# control word, a reserved slot, r12..r15, rbx, rbp, the return address; the resumed
# context's stack pointer is just above. Used only when the disassembly cannot be read.
_DEFAULT_LAYOUT = {
    "r12": 0x10, "r13": 0x18, "r14": 0x20, "r15": 0x28, "rbx": 0x30, "rbp": 0x38,
    "rip": 0x40, "rsp": 0x48,
}

_MAX_FRAMES = 48


class _FrameId:
    """The (sp, pc) pair gdb.PendingFrame.create_unwind_info wants (gdb.Values)."""

    def __init__(self, sp, pc):
        self.sp = sp
        self.pc = pc


class _FiberUnwinder(gdb.unwinder.Unwinder):
    """While `regs` is set, the thread's innermost frame "returns" into a suspended coroutine.

    Only that frame is taken over (the innermost real one: inlined calls above it, e.g. a
    system call's wrapper in a live process, are unwound by gdb first): its caller gets the
    registers jump_fcontext saved, and gdb's normal unwinders carry on from there, on the
    coroutine's stack.
    """

    def __init__(self):
        super().__init__("braid-coroutine")
        self.regs = None
        self.level = 0      # level of the innermost frame that is not an inlined call
        self.frame0 = None  # its (sp, pc), for a gdb without PendingFrame.level()

    def __call__(self, pending):
        if self.regs is None:
            return None
        if hasattr(pending, "level"):
            if pending.level() != self.level:
                return None
        elif self.frame0 != (int(pending.read_register("rsp")), int(pending.read_register("rip"))):
            return None
        # Frame ids must grow outwards: give the taken-over frame an id just below the
        # coroutine's stack, or gdb would take the jump to another stack for corruption.
        rsp = pending.read_register("rsp")
        frame_sp = gdb.Value(self.regs["rsp"] - 16).cast(rsp.type)
        info = pending.create_unwind_info(_FrameId(frame_sp, pending.read_register("rip")))
        for reg, value in self.regs.items():
            info.add_saved_register(reg, gdb.Value(value).cast(pending.read_register(reg).type))
        return info


_unwinder = _FiberUnwinder()
gdb.unwinder.register_unwinder(None, _unwinder, replace=True)


def _fcontext_layout():
    """Offsets of the saved registers in jump_fcontext's frame, from its disassembly."""
    flavor = gdb.parameter("disassembly-flavor")
    try:
        gdb.execute("set disassembly-flavor att", to_string=True)
        text = gdb.execute("disassemble jump_fcontext", to_string=True)
    except gdb.error:
        return dict(_DEFAULT_LAYOUT)
    finally:
        gdb.execute("set disassembly-flavor " + flavor, to_string=True)
    layout = {}
    # Saves: mov %r12,0x10(%rsp) ... (before the switch of stacks, `mov %rdi,%rsp`).
    head, _, tail = text.partition("%rdi,%rsp")
    for reg, off in re.findall(r"mov\s+%(r1[2-5]|rbx|rbp),(0x[0-9a-f]+)?\(%rsp\)", head):
        layout[reg] = int(off or "0", 16)
    ret = re.search(r"mov\s+(0x[0-9a-f]+)?\(%rsp\),%r8", tail)
    leas = re.findall(r"lea\s+(0x[0-9a-f]+)\(%rsp\),%rsp", tail)
    if ret is None or not leas or len(layout) != 6:
        return dict(_DEFAULT_LAYOUT)
    layout["rip"] = int(ret.group(1) or "0", 16)
    layout["rsp"] = int(leas[-1], 16)
    return layout


def _read_word(addr):
    return int(gdb.Value(addr).cast(gdb.lookup_type("unsigned long").pointer()).dereference())


def _saved_registers(fctx, layout):
    regs = {reg: _read_word(fctx + off) for reg, off in layout.items() if reg != "rsp"}
    regs["rsp"] = fctx + layout["rsp"]
    return regs


def _field(value, name, default=None):
    try:
        return value[name]
    except gdb.error:
        return default


def _find_member(struct_type, name):
    """(byte offset, type) of data member `name` of `struct_type`, bases included."""
    for f in struct_type.strip_typedefs().fields():
        if f.name == name and not f.is_base_class and hasattr(f, "bitpos"):
            return f.bitpos // 8, f.type
        if f.is_base_class:
            found = _find_member(f.type, name)
            if found is not None:
                return f.bitpos // 8 + found[0], found[1]
    return None


def _member(record_ptr, name, default=None):
    """Field `name` of the object `record_ptr` points to, read without dereferencing it.

    FiberRecord is polymorphic and gdb looks up the dynamic type of every polymorphic
    object it dereferences, warning for each task's lambda type it cannot name; going
    through the member's address skips that.
    """
    found = _find_member(record_ptr.type.strip_typedefs().target(), name)
    if found is None:
        return default
    offset, ftype = found
    return gdb.Value(int(record_ptr) + offset).cast(ftype.pointer()).dereference()


def _std_string(value):
    try:
        length = int(value["_M_string_length"])
        return value["_M_dataplus"]["_M_p"].string(length=length) if length else ""
    except gdb.error:
        text = str(value)  # another standard library: its pretty printer, if any
        return text[1:-1] if text.startswith('"') and text.endswith('"') else text


def _enum_name(value):
    return str(value).rsplit("::", 1)[-1]


def _fctx(fiber):
    """The saved fcontext_t of a boost::context::fiber (None when empty or unknown)."""
    fctx = _field(fiber, "fctx_")
    if fctx is None:
        return None
    return int(fctx) or None


# Frames of std::invoke/std::apply between a task's body and braid's code: collapsed.
_PLUMBING = re.compile(r"^std::(__)?(invoke|apply)(_impl|_r)?\b")
# A coroutine's outermost frame worth showing; below it is Boost.Context's trampoline.
_ENTRY = "braid::Hub::fiber_main"


def _describe_frame(frame, level):
    name = frame.name() or "??"
    try:
        sal = frame.find_sal()
    except gdb.error:
        sal = None
    if sal is not None and sal.symtab is not None:
        where = " at %s:%d" % (sal.symtab.filename, sal.line)
    else:
        lib = gdb.solib_name(frame.pc())
        where = " from " + lib if lib else ""
    if frame.type() == gdb.INLINE_FRAME:
        return "#%-2d %18s %s%s" % (level, "[inlined]", name, where)
    return "#%-2d 0x%016x in %s%s" % (level, frame.pc(), name, where)


def _frame_lines(first):
    """gdb's frames from `first` outwards, std::invoke/apply runs collapsed, up to the
    coroutine's entry function."""
    lines = []
    hidden = 0
    frame, level = first, 0
    while frame is not None and level < _MAX_FRAMES:
        name = frame.name() or ""
        if _PLUMBING.match(name):
            hidden += 1
        else:
            if hidden:
                lines.append("    ... %d std::invoke/apply frame%s"
                             % (hidden, "" if hidden == 1 else "s"))
                hidden = 0
            lines.append(_describe_frame(frame, level))
            if name.startswith(_ENTRY):
                return lines
        level += 1
        frame = frame.older()
    if frame is not None:
        lines.append("(more frames not shown)")
    return lines


def _backtrace(fctx, layout):
    """The frames of the context suspended at `fctx`, one line each."""
    frame0, level = gdb.newest_frame(), 0
    while frame0.type() == gdb.INLINE_FRAME and frame0.older() is not None:
        frame0, level = frame0.older(), level + 1
    _unwinder.level = level
    _unwinder.frame0 = (int(frame0.read_register("rsp")), int(frame0.read_register("rip")))
    _unwinder.regs = _saved_registers(fctx, layout)
    gdb.invalidate_cached_frames()
    try:
        frame = gdb.newest_frame()
        for _ in range(level + 1):
            frame = frame.older() if frame is not None else None
        if frame is None:
            return ["(no frames: gdb could not unwind into the coroutine)"]
        return _frame_lines(frame)
    except (gdb.error, gdb.MemoryError) as e:
        return ["(backtrace failed: %s)" % e]
    finally:
        _unwinder.regs = None
        gdb.invalidate_cached_frames()


def _live_records(hub):
    """Pointers to the hub's live coroutines (spawned, not finished), oldest last."""
    rec = hub["live_head_"]
    seen = set()
    while int(rec) != 0 and int(rec) not in seen:
        seen.add(int(rec))
        yield rec
        rec = _member(rec, "live_next")


def _describe_record(rec, is_current):
    ident = int(_member(rec, "id"))
    name = _std_string(_member(rec, "name")) or "Task-%d" % ident
    state = _enum_name(_member(rec, "state"))
    text = "coroutine %d \"%s\"  %s" % (ident, name, state)
    wait = _member(rec, "wait")
    if state in ("parked", "ready") and wait is not None:
        try:
            what = wait["what"].string()
        except (gdb.error, gdb.MemoryError):
            what = "?"
        arg = int(wait["arg"])
        text += "  waits on: " + what + (" %d" % arg if arg >= 0 else "")
    if is_current:
        text += "  (current)"
    return text


def _write_lines(lines, indent):
    for line in lines:
        gdb.write(indent + line + "\n")


def _print_hub(hub, thread, layout):
    current = hub["current_"]
    records = list(_live_records(hub))
    where = "`thread %d` then `bt`" % thread.num if thread else "`bt` in the hub's thread"
    label = "thread %d (LWP %d): " % (thread.num, thread.ptid[1]) if thread else ""
    gdb.write("%shub 0x%x, %d live coroutine%s\n" % (
        label, int(hub.address), len(records), "" if len(records) == 1 else "s"))
    for rec in records:
        is_current = int(rec) == int(current)
        gdb.write("  " + _describe_record(rec, is_current) + "\n")
        state = _enum_name(_member(rec, "state"))
        fctx = _fctx(_member(rec, "cont"))
        if is_current or state == "running":
            gdb.write("      running: its stack is the thread's: use %s\n" % where)
        elif fctx is None:
            gdb.write("      not started yet: no stack\n")
        else:
            _write_lines(_backtrace(fctx, layout), "      ")
    # The thread's own context (main): on the thread's stack, unless a coroutine runs,
    # in which case the hub's loop in it is suspended in sched_cont_.
    if int(current) == 0 or bool(_member(current, "is_root", True)):
        gdb.write("  main context: on the thread's stack: use %s\n" % where)
        return
    gdb.write("  main context: its hub loop is suspended while coroutine %d runs\n"
              % int(_member(current, "id")))
    sched = _field(hub, "sched_cont_")
    fctx = _fctx(sched) if sched is not None else None
    if fctx is not None:
        _write_lines(_backtrace(fctx, layout), "      ")


def _thread_hub():
    """The selected thread's hub (a gdb.Value Hub*), None when it has none."""
    errors = []
    for spelling in _HUB_SYMBOLS:
        try:
            hub = gdb.parse_and_eval(spelling)
        except gdb.error as e:
            errors.append(str(e))
            continue
        return hub if int(hub) != 0 else None
    raise gdb.GdbError("braid: cannot read the thread's hub (t_hub in runtime/src/hub.cpp; "
                       "is braid built with debug info, -g?): " + "; ".join(errors)
                       + ". Or name one: braid coroutines HUB")


def _hub_argument(expr):
    """The braid::Hub named by the command's argument: a Hub*, a Hub, or an address."""
    try:
        value = gdb.parse_and_eval(expr)
        hub_type = gdb.lookup_type("braid::Hub")
    except gdb.error as e:
        raise gdb.GdbError("braid: cannot evaluate HUB %r: %s" % (expr, e))
    code = value.type.strip_typedefs().code
    if code == gdb.TYPE_CODE_INT:
        value = value.cast(hub_type.pointer())
    elif code == gdb.TYPE_CODE_STRUCT and value.address is not None:
        value = value.address
    elif code != gdb.TYPE_CODE_PTR:
        raise gdb.GdbError("braid: HUB %r is a %s, not a braid::Hub, a Hub* or an address"
                           % (expr, value.type))
    target = value.type.strip_typedefs().target().strip_typedefs()
    if target.name != "braid::Hub":
        raise gdb.GdbError("braid: HUB %r points to a %s, not a braid::Hub" % (expr, target))
    if int(value) == 0:
        raise gdb.GdbError("braid: HUB %r is a null pointer" % expr)
    return value.dereference()


class _BraidPrefix(gdb.Command):
    """braid's gdb commands: braid coroutines."""

    def __init__(self):
        super().__init__("braid", gdb.COMMAND_USER, prefix=True)


class _BraidCoroutines(gdb.Command):
    """List braid's coroutines with their states, waits and stacks.

Usage: braid coroutines [HUB]
Without HUB, every thread's hub (thread_local t_hub); HUB is an expression that
evaluates to a braid::Hub*, a braid::Hub, or an address. Works on live processes and
core files."""

    def __init__(self):
        super().__init__("braid coroutines", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        inferior = gdb.selected_inferior()
        if inferior.pid == 0 and not inferior.threads():
            raise gdb.GdbError("braid: no process or core file")
        layout = _fcontext_layout()
        if arg.strip():
            _print_hub(_hub_argument(arg.strip()), None, layout)
            return
        selected = gdb.selected_thread()
        frame = gdb.selected_frame()
        found = 0
        try:
            for thread in sorted(inferior.threads(), key=lambda t: t.num):
                thread.switch()
                hub = _thread_hub()
                if hub is None:
                    continue
                found += 1
                try:
                    _print_hub(hub.dereference(), thread, layout)
                except gdb.MemoryError as e:  # a hub being torn down, a truncated core
                    gdb.write("thread %d: hub 0x%x unreadable: %s\n" % (thread.num, int(hub), e))
        finally:
            if selected is not None and selected.is_valid():
                selected.switch()
                try:
                    frame.select()
                except gdb.error:
                    pass
        if found == 0:
            gdb.write("braid: no thread has a hub (t_hub is null everywhere)\n")


_BraidPrefix()
_BraidCoroutines()
