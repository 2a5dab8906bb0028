"""Plain Python modules copied into every generated package (linted and tested as source).

They are imported only as those copies: a relative import (``from ._constants import ...``)
names a module that klgen generates beside them.
"""
