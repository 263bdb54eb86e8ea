"""Decode one code object's instructions, for a given CPython version, as data.

Wordcode (2 bytes per unit) for 3.6-3.13: ``EXTENDED_ARG`` prefixes are folded into the
next instruction's argument, and from 3.11 the inline ``CACHE`` units that follow an
instruction are skipped, and must be zero as ``marshal`` writes them (this also tells
apart versions whose cache counts differ). Jump targets are resolved to byte offsets with
each version's convention (bytes before 3.10, instruction units from 3.10; relative jumps
count from the next instruction after its caches; ``*BACKWARD*`` jumps go back).
"""

from __future__ import annotations

from dataclasses import dataclass

from lamina.errors import LoadError

from . import opcodes
from .marshal_reader import CodeInfo

MAX_INSTRUCTIONS = 10_000


@dataclass(frozen=True)
class Instruction:
    """One decoded instruction: where it is, what it is, and where a jump goes."""

    offset: int
    name: str
    arg: int
    next_offset: int  # after the instruction and its inline caches
    target: int | None  # a jump's destination offset, else None


def jump_target(version: str, name: str, arg: int, offset: int, next_offset: int) -> int | None:
    """The byte offset a jump goes to, or None if ``name`` is not a jump in ``version``."""
    units = 1 if version in ("3.6", "3.7", "3.8", "3.9") else 2
    if name in opcodes.JUMP_ABSOLUTE[version]:
        return arg * units
    if name in opcodes.JUMP_RELATIVE[version]:
        step = arg * units
        return next_offset - step if "BACKWARD" in name else next_offset + step
    return None


def decode(code: CodeInfo, where: str) -> list[Instruction]:
    """The instructions of ``code`` for ``code.version``.

    Args:
        code: a code object read by ``marshal_reader.read_code``.
        where: what to name in error messages ("" for none).

    Returns:
        The instructions in order, without ``EXTENDED_ARG`` and ``CACHE`` units.

    Raises:
        LoadError: an odd length, too many instructions, an opcode the version does not
            have, or caches running past the end.
    """
    version, raw = code.version, code.code
    where = f"{where}: " if where else ""
    if len(raw) % 2:
        raise LoadError(f"{where}the bytecode has an odd length ({len(raw)} bytes), "
                        f"which Python {version} never writes.")
    if len(raw) // 2 > MAX_INSTRUCTIONS:
        raise LoadError(f"{where}the bytecode has {len(raw) // 2} instructions, more than "
                        f"the {MAX_INSTRUCTIONS} lamina translates.")
    extended, have_argument = opcodes.EXTENDED_ARG[version], opcodes.HAVE_ARGUMENT[version]
    out: list[Instruction] = []
    pos, ext, start = 0, 0, None
    while pos < len(raw):
        number, arg = raw[pos], raw[pos + 1]
        name = opcodes.opname(version, number)
        if start is None:
            start = pos
        if name == "-":
            raise LoadError(f"{where}opcode {number} at byte {pos} does not exist in "
                            f"Python {version}.")
        if number == extended:
            if ext > 0xFFFF:
                raise LoadError(f"{where}more than three EXTENDED_ARG prefixes at byte "
                                f"{pos} (Python {version} never writes them).")
            ext = (ext << 8) | arg
            pos += 2
            continue
        full = (ext << 8) | arg if number >= have_argument or ext else arg
        if name == "CACHE":
            raise LoadError(f"{where}a CACHE unit at byte {pos} where an instruction "
                            f"belongs (Python {version}).")
        nxt = pos + 2 + 2 * opcodes.inline_caches(version, name)
        if nxt > len(raw):
            raise LoadError(f"{where}{name} at byte {pos} has inline caches past the end "
                            f"of the bytecode (Python {version}).")
        if any(raw[pos + 2:nxt]):
            raise LoadError(f"{where}{name} at byte {pos} is followed by inline caches "
                            f"that are not empty, as Python {version} writes them.")
        target = jump_target(version, name, full, pos, nxt)
        out.append(Instruction(offset=start, name=name, arg=full, next_offset=nxt,
                               target=target))
        pos, ext, start = nxt, 0, None
    if start is not None:
        raise LoadError(f"{where}the bytecode ends with EXTENDED_ARG (Python {version}).")
    return out
