"""Per-request metrics: one class per metric, formula in its docstring.

The registry ``REQUEST_METRICS`` lists them in dependency order; ``compute_request_metrics``
fills the schema columns from a :class:`~vlmbench.metrics.timeline.Timeline`.
"""

from vlmbench.metrics.request import REQUEST_METRICS, compute_request_metrics
from vlmbench.metrics.timeline import Timeline

__all__ = ["REQUEST_METRICS", "Timeline", "compute_request_metrics"]
