"""The library's errors as Python exceptions, one class per error kind.

Each is an :class:`AutoMLError` and also the built-in exception a Python user expects,
so ``except ValueError`` and ``except FileNotFoundError`` work as usual. The message is
the one the command line prints.

=====================  ==============================================  =====================
kind (C++ ErrorKind)   when                                            also a
=====================  ==============================================  =====================
invalid input          bad data, target, metric, option                ValueError
not found              a file, column, run folder or model family      FileNotFoundError, LookupError
unsupported            valid, but not something the library can do     ValueError
I/O                    reading or writing failed                       OSError
budget                 the time budget cannot be met                   TimeoutError
external               an LLM server failed or refused                 ConnectionError
internal               a bug in automl_gpt                             RuntimeError
=====================  ==============================================  =====================
"""


class AutoMLError(Exception):
    """Base class of every error the library raises."""


class InvalidInputError(AutoMLError, ValueError):
    """The data, target, metric or an option is wrong."""


class NotFoundError(AutoMLError, FileNotFoundError, LookupError):
    """A file, column, run folder or model family does not exist."""


class UnsupportedError(AutoMLError, ValueError):
    """Valid, but not something the library can do."""


class IoError(AutoMLError, OSError):
    """Reading or writing failed."""


class BudgetError(AutoMLError, TimeoutError):
    """The time budget cannot be met."""


class ExternalServiceError(AutoMLError, ConnectionError):
    """A service the run calls (an LLM server) failed or refused."""


class InternalError(AutoMLError, RuntimeError):
    """A bug in automl_gpt: please report it with the message."""
