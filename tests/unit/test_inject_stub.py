"""The ptrace injector without a target: the stub is its documented source, its frame leaves the red zone alone
and returns exactly, syscalls restart like the kernel's, and what it refuses first (injections: tests/live)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from core.errors import FailureKind, SafeAttachError
from core.inject.injector import guarded, inject
from core.inject.ptrace import UserRegs
from core.inject.stub import (
    NR_RESTART_SYSCALL,
    STUB_CODE,
    Calls,
    build_frame,
    resume_point,
)

STUB_SOURCE = """
.intel_syntax noprefix
    cld
    fxsave64 [rsp+0x80]
    fninit
    ldmxcsr [rsp+0x50]
    mov qword ptr [rsp+0x30], 1
    mov rax, [rsp]
    test rax, rax
    jz 1f
    call rax
    mov [rsp+0x28], rax
1:  mov qword ptr [rsp+0x30], 2
    mov rdi, [rsp+0x10]
    mov rsi, [rsp+0x18]
    mov rax, [rsp+0x08]
    call rax
    mov [rsp+0x40], rax
    mov qword ptr [rsp+0x30], 3
    mov rax, [rsp+0x20]
    test rax, rax
    jz 2f
    mov rdi, [rsp+0x28]
    call rax
2:  mov qword ptr [rsp+0x30], 4
    fxrstor64 [rsp+0x80]
    mov rsp, [rsp+0x38]
    pop r15
    pop r14
    pop r13
    pop r12
    pop rbp
    pop rbx
    pop r11
    pop r10
    pop r9
    pop r8
    pop rcx
    pop rdx
    pop rsi
    pop rdi
    pop rax
    popfq
    ret 136
"""


def test_stub_bytes_are_the_documented_source(tmp_path: Path) -> None:
    if shutil.which("as") is None or shutil.which("objcopy") is None:
        pytest.skip("binutils (as, objcopy) not installed")
    (tmp_path / "stub.s").write_text(STUB_SOURCE)
    subprocess.run(["as", "--64", "-o", str(tmp_path / "stub.o"), str(tmp_path / "stub.s")], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "stub.o"), str(tmp_path / "stub.bin")],
                   check=True)
    assert (tmp_path / "stub.bin").read_bytes() == STUB_CODE


def _regs(**values: int) -> UserRegs:
    regs = UserRegs()
    for name, value in values.items():
        setattr(regs, name, value & ((1 << 64) - 1))
    return regs


def test_resume_point_redoes_an_interrupted_syscall_like_the_kernel() -> None:
    nohand = _regs(orig_rax=230, rax=-514, rip=0x1002)
    resume, note = resume_point(nohand)
    assert (resume.rax, resume.rip) == (230, 0x1000) and "restarted" in note
    block = _regs(orig_rax=35, rax=-516, rip=0x2002)
    resume, _ = resume_point(block)
    assert (resume.rax, resume.rip) == (NR_RESTART_SYSCALL, 0x2000)
    for done in (_regs(orig_rax=230, rax=0, rip=0x3002), _regs(orig_rax=232, rax=-4, rip=0x3002),
                 _regs(orig_rax=-1, rax=-514, rip=0x3002)):  # finished, EINTR, or not in a syscall
        resume, note = resume_point(done)
        assert (resume.rax, resume.rip) == (done.rax, done.rip) and note == "no syscall restart pending"


def test_frame_leaves_the_red_zone_alone_and_returns_exactly() -> None:
    rsp = 0x7FFF_0000_1238  # 8 mod 16, as inside a function
    interrupted = _regs(rsp=rsp, rip=0x4444, rax=1, rbx=2, r15=15, eflags=0x246, orig_rax=230)
    resume, _ = resume_point(interrupted)
    frame = build_frame(interrupted, resume, 0x5000, Calls(0x10, 0x20, 0, 0, 0x30), nonce=77, string=b"pass")
    assert frame.address % 16 == 0 and frame.regs.rsp == frame.address and frame.regs.rip == 0x5000
    assert frame.regs.signed("orig_rax") == -1
    end = frame.address + len(frame.data)
    assert end == rsp - 136  # the rip slot is the last thing written; the 128-byte red zone is untouched
    words = [int.from_bytes(frame.data[i:i + 8], "little") for i in range(0, 0x58, 8)]
    assert words[:5] == [0x10, 0x20, frame.string_address, 0, 0x30]
    assert words[9] == 77 and words[10] & 0xFFFFFFFF == 0x1F80
    assert frame.data[frame.string_address - frame.address:][:5] == b"pass\0"
    regs_base = words[7]
    saved = [int.from_bytes(frame.data[regs_base - frame.address + 8 * i:][:8], "little") for i in range(17)]
    assert saved[0] == 15 and saved[5] == 2 and saved[14] == 1 and saved[15] == 0x246 and saved[16] == 0x4444
    # `ret 136` pops rip from rsp-144, then adds 136: the stack pointer is the interrupted one again
    assert regs_base + 8 * 16 + 8 + 136 == rsp


def test_threads_with_a_cet_shadow_stack_are_refused_before_anything_is_written() -> None:
    from core.inject.injector import shadow_stack_enabled

    assert shadow_stack_enabled(1, 1, "Name:\tpython3\nx86_Thread_features:\tshstk wrss\n")
    assert not shadow_stack_enabled(1, 1, "Name:\tpython3\nx86_Thread_features:\t\n")
    assert not shadow_stack_enabled(1, 1, "Name:\tpython3\n")  # kernels without user shadow stacks


def test_gone_process_is_no_such_process() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with pytest.raises(SafeAttachError) as exc:
        inject(gone.pid, guarded("pass"), timeout=5)
    assert exc.value.kind is FailureKind.NO_SUCH_PROCESS
