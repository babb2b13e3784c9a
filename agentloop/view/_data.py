"""What the viewer's pages read, all from `store`: run overviews and retention per arm
(`store.stats`, the numbers the CLI prints), one page of filtered episodes, one episode and
search hits (`store.browse`)."""

from store.browse import (
    BadFilter,
    EpisodeFilter,
    EpisodeLine,
    EpisodePage,
    EpisodeView,
    Facets,
    SearchHit,
    episode_page,
    episode_view,
    run_facets,
    search,
)
from store.stats import NO_STATS, ArmSeries, RetentionPoint, RunOverview, RunStats, retention_by_arm, run_overviews, run_stats

__all__ = [
    "NO_STATS", "ArmSeries", "BadFilter", "EpisodeFilter", "EpisodeLine", "EpisodePage", "EpisodeView", "Facets",
    "RetentionPoint", "RunOverview", "RunStats", "SearchHit", "episode_page", "episode_view", "retention_by_arm",
    "run_facets", "run_overviews", "run_stats", "search",
]
