"""How the command line and the lab's facts say a count: ``1 user``, ``20,000 connections``."""


def counted(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"
