"""Everything that can go wrong in the domain, one class per outcome a caller must tell apart."""


class PessoaError(Exception):
    """Base of every domain error."""


class UnreadablePessoa(PessoaError):
    """The input cannot be read as a pessoa at all: not an object, or a field of the wrong JSON type."""


class InvalidPessoa(PessoaError):
    """The input reads as a pessoa but breaks one of its rules."""


class ApelidoTaken(InvalidPessoa):
    """Another pessoa already holds this apelido."""


class InvalidSearchTerm(PessoaError):
    """A search needs a non-empty term."""


class StorageUnavailable(PessoaError):
    """A backing service cannot take the write now; nothing was promised to the caller."""


class StorageUnusable(PessoaError):
    """The configured storage can never be used as it is (a corrupt or foreign file): do not start."""


class StorageUncertain(PessoaError):
    """The commit was sent but its outcome never came back: the pessoa may or may not be stored.

    Nothing was promised to the caller. If the commit did land, the pessoa is stored like any
    other (readable by id, its apelido taken); if not, nothing of it remains.
    """
