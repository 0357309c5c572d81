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


class ReservationsLost(StorageUnavailable):
    """The cache has lost its apelido reservations (it restarted empty).

    No apelido can be taken until they are restored from storage, or a pessoa still on its way
    to storage could end up sharing its apelido with a new one.
    """


class StorageUncertain(PessoaError):
    """The pessoa was handed over but its storage could not be confirmed: it may yet be stored.

    Nothing was promised to the caller, but the apelido stays taken, since a pessoa that does
    get stored must not share it with another.
    """
