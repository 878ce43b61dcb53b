"""One module per kind, each registering its ResourceAdmin on ``console.registry.site``.

Imported once by ``ConsoleConfig.ready()`` (as Django's ``admin.autodiscover``); the order of
the imports is the order of the navigation.
"""

from console.kinds import apikeys, brokers, emqx, rebalance

__all__ = ["apikeys", "brokers", "emqx", "rebalance"]
