"""The four gRPC services: thin translation between messages and the domain packages."""

from patchline.servers.app import SERVICE_NAMES, RunningServer, ServerSettings, create_server, serve
from patchline.servers.auth import ServerAuth

__all__ = ["SERVICE_NAMES", "RunningServer", "ServerAuth", "ServerSettings", "create_server", "serve"]
