"""The self-restoring call stub, and the frame the injector lays out for it on the target thread's stack.

The stub makes up to three calls (fn1(); fn2(a, b); fn3(result of fn1)) and then restores, by itself, every
general-purpose register, the flags, the legacy x87/SSE state (fxsave64/fxrstor64) and the stack pointer,
and resumes the interrupted code. Because the target restores itself, nothing depends on our process once
the registers are set: a client killed at any moment (even SIGKILL) leaves a target that finishes the call
and carries on. The XSAVE area (AVX upper halves, AVX-512, AMX tiles) is never touched; at a syscall
boundary (the parked safe point) no vector register is live by the ABI, and Py_AddPendingCall (the pending
safe point) uses no VEX instructions, which leave the upper halves alone.

The code is constant and position independent, so one copy in the target serves every injection.
Source (GNU as, `.intel_syntax noprefix`), W = the stub's rsp on entry (16-byte aligned):

    cld                          ; the ABI wants DF clear at a call; popfq restores the target's
    fxsave64 [rsp+0x80]
    fninit                       ; a clean x87 state and default MXCSR, as for a signal handler
    ldmxcsr  [rsp+0x50]
    mov qword ptr [rsp+0x30], 1  ; stage 1: fn1 (PyGILState_Ensure)
    mov rax, [rsp]
    test rax, rax
    jz 1f
    call rax
    mov [rsp+0x28], rax
  1:mov qword ptr [rsp+0x30], 2  ; stage 2: fn2(a, b) (PyRun_SimpleString / Py_AddPendingCall)
    mov rdi, [rsp+0x10]
    mov rsi, [rsp+0x18]
    mov rax, [rsp+0x08]
    call rax
    mov [rsp+0x40], rax
    mov qword ptr [rsp+0x30], 3  ; stage 3: fn3(fn1's result) (PyGILState_Release)
    mov rax, [rsp+0x20]
    test rax, rax
    jz 2f
    mov rdi, [rsp+0x28]
    call rax
  2:mov qword ptr [rsp+0x30], 4  ; stage 4: restoring
    fxrstor64 [rsp+0x80]
    mov rsp, [rsp+0x38]          ; the saved registers, below the red zone
    pop r15 .. pop rax           ; r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rcx rdx rsi rdi rax
    popfq
    ret 136                      ; rip from the slot 144 bytes below the saved rsp, then rsp = saved rsp

`tests/unit/test_inject_stub.py` re-assembles this source (when `as` is installed) and compares the bytes.
"""

from __future__ import annotations

import struct

from core.inject.ptrace import UserRegs
from core.records import dataclass

STUB_CODE = bytes.fromhex(
    "fc480fae842480000000dbe30fae54245048c744243001000000488b04244885c07407ffd0488944242848c7442430"
    "02000000488b7c2410488b742418488b442408ffd0488944244048c744243003000000488b4424204885c07407488b"
    "7c2428ffd048c744243004000000480fae8c2480000000488b642438415f415e415d415c5d5b415b415a41594158595a"
    "5e5f589dc28800"
)
STUB_SIGNATURE = b"\0safeattach-stub-v1\0"  # written after the code, so a later injection finds the copy
STUB_IMAGE = STUB_CODE + STUB_SIGNATURE

RED_ZONE = 128
_POPPED = ("r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rcx", "rdx", "rsi", "rdi",
           "rax")
_SLOT_FRAME = 0x280  # W .. W+0x280: call table, stage word, MXCSR, fxsave area
_RIP_SLOT_BELOW_RSP = RED_ZONE + 16  # `ret 136` pops rip from rsp-144 and leaves rsp = saved rsp
DEFAULT_MXCSR = 0x1F80

STAGE_OFFSET = 0x30
NONCE_OFFSET = 0x48

# syscall restart codes (include/linux/errno.h): the kernel re-executes the syscall for these when no
# handler runs; the injector does the same rewind itself, so the stub can return to plain user code.
ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND, ERESTART_RESTARTBLOCK = 512, 513, 514, 516
NR_RESTART_SYSCALL = 219  # x86_64
SYSCALL_INSN = b"\x0f\x05"


@dataclass(frozen=True)
class Calls:
    """What the stub calls: fn1() (0: skip), fn2(arg_a, arg_b), fn3(fn1's result) (0: skip)."""

    fn1: int
    fn2: int
    arg_a: int
    arg_b: int
    fn3: int


def resume_point(regs: UserRegs) -> tuple[UserRegs, str]:
    """The registers the stub must return to, with a pending syscall restart done the kernel's way (rip back
    to the `syscall` instruction, rax = the syscall number or restart_syscall). Returns them and a note."""
    out = regs.copy()
    nr = regs.signed("orig_rax")
    ret = regs.signed("rax")
    if nr >= 0 and -ret in (ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND):
        out.rax = nr
        out.rip = regs.rip - 2
        return out, f"syscall {nr} will be restarted"
    if nr >= 0 and -ret == ERESTART_RESTARTBLOCK:
        out.rax = NR_RESTART_SYSCALL
        out.rip = regs.rip - 2
        return out, f"syscall {nr} will be resumed through restart_syscall"
    return out, "no syscall restart pending"


@dataclass(frozen=True)
class Frame:
    """The bytes to write at `address` and the registers that enter the stub."""

    address: int  # W: the stub's stack pointer on entry
    data: bytes
    regs: UserRegs
    string_address: int  # where the NUL-terminated string argument was placed (0: none)


def build_frame(interrupted: UserRegs, resume: UserRegs, stub_address: int, calls: Calls, nonce: int,
                string: bytes | None = None) -> Frame:
    """Lay out, below the interrupted thread's red zone: [W: call table | fxsave area][string][saved
    registers][rip slot] ... red zone ... saved rsp. `string` (if any) becomes arg_a."""
    saved_rsp = int(interrupted.rsp)
    rip_slot = saved_rsp - _RIP_SLOT_BELOW_RSP
    regs_base = rip_slot - 8 * (len(_POPPED) + 1)  # the popped registers, then rflags, then rip
    below = regs_base
    string_address = 0
    if string is not None:
        if b"\0" in string:
            raise ValueError("the string argument must not contain NUL")
        below = (regs_base - len(string) - 1) & ~0xF
        string_address = below
    w = (below - _SLOT_FRAME) & ~0xF
    arg_a = string_address if string is not None else calls.arg_a
    table = struct.pack("<8Q", calls.fn1, calls.fn2, arg_a, calls.arg_b, calls.fn3, 0, 0, regs_base)
    table += struct.pack("<QQI", 0, nonce, DEFAULT_MXCSR)
    image = bytearray(rip_slot + 8 - w)
    image[: len(table)] = table
    if string is not None:
        image[string_address - w: string_address - w + len(string)] = string
    saved = [int(getattr(resume, name)) for name in _POPPED] + [int(resume.eflags), int(resume.rip)]
    image[regs_base - w:] = struct.pack(f"<{len(saved)}Q", *saved)
    regs = interrupted.copy()
    regs.rip = stub_address
    regs.rsp = w
    regs.orig_rax = (1 << 64) - 1  # -1: the kernel must not apply its own syscall restart to this context
    return Frame(w, bytes(image), regs, string_address)
