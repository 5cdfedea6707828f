namespace PinnerSage.Retrieval;

/// <summary>One recommended item and its reason: the user's cluster whose medoid retrieved it.</summary>
/// <param name="Item">Row of the item in the embedding table (<c>ItemEmbeddings.Id(Item)</c> is its id).</param>
/// <param name="Similarity">Cosine similarity between the item's and the medoid's vectors (whatever the index metric).</param>
/// <param name="Distance">The index's distance from the medoid (smaller is closer; see <c>IVectorIndex</c>).</param>
/// <param name="Cluster">Index of the cluster in <c>UserProfile.Clusters</c>.</param>
/// <param name="Medoid">Row of the cluster's medoid item in the embedding table.</param>
/// <param name="Importance">The cluster's importance.</param>
/// <param name="Size">The cluster's size (actions).</param>
/// <param name="Rank">Paper policy: 0-based position of the item in its medoid's neighbour list, after engaged items were
/// removed. Mixture policy: the item's 0-based position in the ranking.</param>
/// <param name="Contribution">The reason cluster's share of the item's score (mixture policy; 1 for the paper's, where one
/// medoid retrieved it).</param>
public readonly record struct Recommendation(int Item, float Similarity, float Distance, int Cluster, int Medoid,
                                             double Importance, int Size, int Rank, float Contribution = 1f);

/// <summary>One item similar to a given item.</summary>
/// <param name="Item">Row of the item in the embedding table.</param>
/// <param name="Similarity">Cosine similarity to the query item.</param>
/// <param name="Distance">The index's distance (smaller is closer).</param>
public readonly record struct SimilarItem(int Item, float Similarity, float Distance);

/// <summary>What one <see cref="Recommender.RecommendWithSeed(PinnerSage.Profiles.UserProfile, ulong, System.Span{Recommendation})"/>
/// call did.</summary>
/// <param name="Count">Recommendations written.</param>
/// <param name="MedoidsSampled">Medoids queried (e ≤ <see cref="RecommenderOptions.Medoids"/>).</param>
/// <param name="MedoidsWithoutVector">Clusters skipped because their medoid id has no row in the embedding table, or a zero vector
/// (list them with <see cref="Recommender.MissingMedoids"/>).</param>
/// <param name="PerMedoid">⌊K/e⌋, each medoid's share before filling (0 when nothing was sampled).</param>
/// <param name="EngagedExcluded">Neighbours dropped because the user already engaged with them.</param>
/// <param name="Duplicates">Neighbours dropped because an earlier list had already contributed them.</param>
public readonly record struct RecommendationSummary(int Count, int MedoidsSampled, int MedoidsWithoutVector, int PerMedoid,
                                                    int EngagedExcluded, int Duplicates);
