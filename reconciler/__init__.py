"""rtc-reconciler: config-as-code for PolyAI real-time configuration.

The flow runs one way::

    repository -> loader -> DesiredState -> validation + policies -> planner <- live state <- api client
                                                                       |
                                                                     Plan -> executor -> api client
                                                                       |
                                                                    reports
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
