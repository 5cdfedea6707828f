namespace PinnerSage.Profiles;

/// <summary>One user's PinnerSage profile: the clusters of the items the user engaged with, sorted by decreasing
/// <see cref="ProfileCluster.Importance"/> (ties by ordinal medoid id). A user may have no clusters (every action
/// fell outside the kept clusters of the α cut).</summary>
/// <param name="UserId">The user id as in the input.</param>
/// <param name="Clusters">The clusters, most important first.</param>
public sealed record UserProfile(string UserId, IReadOnlyList<ProfileCluster> Clusters);

/// <summary>One interest of a user: a Ward cluster summarised by its medoid item and its time-decayed importance.</summary>
/// <param name="Medoid">Item id of the medoid: the member minimising the summed squared distance to the other
/// members (each weighted by its number of actions).</param>
/// <param name="Importance">Σ over the cluster's actions of w·exp(−λ·Δdays), w the action type's weight and Δdays
/// = (now − t)/86400.</param>
/// <param name="Size">Number of actions in the cluster (an item engaged with k times counts k).</param>
/// <param name="Members">Distinct member item ids, most recently engaged first (ties by ordinal item id).</param>
public sealed record ProfileCluster(string Medoid, double Importance, int Size, IReadOnlyList<string> Members);

/// <summary>What happened to one user's actions in <see cref="UserProfileBuilder.Build(string, ReadOnlySpan{int},
/// ReadOnlySpan{long}, ReadOnlySpan{double}, long, out ProfileBuildStats)"/>.</summary>
/// <param name="AfterNow">Actions with t &gt; now (excluded).</param>
/// <param name="BeforeWindow">Actions with t ≤ now − window (excluded).</param>
/// <param name="OverMaxActions">In-window actions dropped because only the most recent MaxActions are kept.</param>
/// <param name="Clustered">Actions that were clustered (in the window, within MaxActions).</param>
/// <param name="Unclustered">Clustered actions whose item fell in no kept cluster (the α cut without
/// KeepSingletons).</param>
/// <param name="DistinctItems">Distinct items among the clustered actions.</param>
public readonly record struct ProfileBuildStats(int AfterNow, int BeforeWindow, int OverMaxActions, int Clustered,
                                                int Unclustered, int DistinctItems);
