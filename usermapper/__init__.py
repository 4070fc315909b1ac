"""usermapper: a short YAML lab description in, Apache Guacamole's ``user-mapping.xml`` out.

The package knows nothing of Azure Functions. Data flows one way:
``config`` (YAML -> Lab) -> ``expand`` (Lab -> users and connections) -> ``xmlwriter`` (-> XML bytes);
``credentials`` writes the sheet of passwords; ``store`` keeps a generated file in Table Storage for a
while; ``web`` is the HTTP handling that does not depend on the host; ``cli`` is the command line.
"""

from .config import ConfigError, Lab, Problem, read_config
from .expand import UserMapping, expand
from .limits import Limits
from .xmlwriter import user_mapping_bytes, write_user_mapping

__all__ = ["ConfigError", "Lab", "Limits", "Problem", "UserMapping", "expand", "read_config",
           "user_mapping_bytes", "write_user_mapping"]
