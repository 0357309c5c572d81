"""Set-up for the in-memory twins: there is no schema or queue to create."""


async def nothing_to_prepare() -> None:
    return None
