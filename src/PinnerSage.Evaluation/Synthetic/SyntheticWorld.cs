using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using PinnerSage.Numerics;

namespace PinnerSage.Synthetic;

/// <summary>Engagement type of a generated action.</summary>
public enum EngagementType : byte
{
    /// <summary>A click (label <c>click</c>).</summary>
    Click,
    /// <summary>A save / repin (label <c>save</c>).</summary>
    Save,
    /// <summary>An add to cart (label <c>add_to_cart</c>).</summary>
    AddToCart,
    /// <summary>A checkout (label <c>checkout</c>).</summary>
    Checkout,
}

/// <summary>One generated action: who, which item, when, how, and the ground-truth interest (topic) behind it.</summary>
/// <param name="User">User index 0 … users−1.</param>
/// <param name="Item">Item index 0 … items−1.</param>
/// <param name="Timestamp">Unix seconds (UTC).</param>
/// <param name="Action">Engagement type.</param>
/// <param name="Topic">The user's interest that produced the action (the item's topic).</param>
public readonly record struct SyntheticAction(int User, int Item, long Timestamp, EngagementType Action, int Topic);

/// <summary>A topic (ground-truth interest) of the generated catalogue.</summary>
/// <param name="Id">Topic index.</param>
/// <param name="Name">Readable name, e.g. "Mid-century furniture".</param>
/// <param name="Family">Family name; topics of one family lie near each other, e.g. "Furniture".</param>
/// <param name="FamilyIndex">Family index.</param>
/// <param name="Popularity">Relative popularity (Zipf weight, the most popular topic has 1).</param>
/// <param name="ItemCount">Number of items in the topic.</param>
public sealed record SyntheticTopic(int Id, string Name, string Family, int FamilyIndex, double Popularity, int ItemCount);

/// <summary>A generated catalogue and user base (issue 2 §5): items in topics as clustered unit vectors, readable
/// titles, and users whose interests drift over the window, engaging in bursty sessions. Pure: the same
/// <see cref="SyntheticWorldOptions"/> (seed included) give the same world; files are written by
/// <see cref="SyntheticWorldWriter"/>.</summary>
/// <remarks>
/// Generative model (all our choice; PinnerSage, Pal et al. KDD 2020, only motivates it: users have several
/// unrelated interests, and item embeddings cluster by interest):
/// <list type="bullet">
/// <item>Geometry, calibrated to real content vectors (amazon-scientific text and image; issue 13,
/// bench/results/synthetic-geometry.md): a residual r built as a hierarchy, family centre F (a random direction) →
/// topic centre normalise(F + s·g) → product normalise(topic + σ_t·g) → item normalise(product + ν·g), with
/// anisotropic noise g ~ N(0, Λ), Λ_kk ∝ (k+1)^−β, tr Λ = 1 (so family centres, and everything else, share the
/// top directions instead of being orthogonal), a per-topic σ_t = σ·exp(0.25·g) (tight and broad topics) and items
/// grouped into products of geometric size (variants); then item = normalise(√a·c + √(1−a)·r) with one shared
/// direction c. In the residual, cos(sibling topics) ≈ 1/(1+s²), cos(products of one topic) ≈ 1/(1+σ_t²) and
/// cos(variants) ≈ 1/(1+ν²); every cosine is ≈ a + (1−a)·(residual cosine), so random pairs sit near a with a spread
/// from the anisotropy, as in real embeddings. The shared share a and β = 0, one item per product, give the older
/// near-orthogonal world.</item>
/// <item>Popularity: topics Zipf(<see cref="SyntheticWorldOptions.TopicZipfExponent"/>) over a random order; a topic
/// holds items ∝ √popularity; items inside a topic Zipf(<see cref="SyntheticWorldOptions.ItemZipfExponent"/>).</item>
/// <item>Users: actions ~ log-normal (mean <see cref="SyntheticWorldOptions.MeanActionsPerUser"/>); interests
/// k ∝ k^−1.3 on 1…20 (at most one per 3 actions), distinct topics drawn by popularity, weights ~ Exp(1); half the
/// interests span the window, the others are active over a random sub-period (so interests appear and fade).
/// Sessions pick an interest by weight and a start inside its period, then emit ~Geometric actions minutes apart,
/// revisiting an item of the session 30% of the time (a click followed by a save or checkout of the same item);
/// 5% of sessions are single stray actions on a random topic outside the user's interests.</item>
/// </list>
/// Every user draws from its own random stream (seed, user), so a user's actions do not depend on how users are split
/// into blocks or threads. Cost: O(items·d) to build the catalogue, O(actions·log) per user.
/// </remarks>
public sealed class SyntheticWorld
{
    /// <summary>Users per block of <see cref="GenerateBlock"/> (the unit of parallel work).</summary>
    public const int UsersPerBlock = 1024;

    private const ulong StreamCatalogue = 1, StreamItems = 2, StreamUsers = 3, StreamProducts = 4, StreamShared = 5;
    private const int ItemsPerBlock = 4096;
    private const double RevisitProbability = 0.3;
    private const double WholeWindowProbability = 0.5;

    private readonly float[] _itemVectors;
    private readonly int[] _itemTopic;
    private readonly int[] _itemProduct;
    private readonly float[] _noiseScale;   // √Λ_kk, the per-coordinate sd of the anisotropic noise; empty = isotropic
    private readonly float[] _shared;       // the direction common to every item
    private readonly string[] _itemTitle;
    private readonly string[] _itemBrand;
    private readonly float[] _itemPrice;
    private readonly SyntheticTopic[] _topics;
    private readonly string[] _topicStyle;
    private readonly double[] _topicNoise;
    private readonly double[] _topicCumulative;
    private readonly int[] _topicItemStart;    // topic t's items are _topicItems[_topicItemStart[t] .. _topicItemStart[t+1]), most popular first
    private readonly int[] _topicItems;
    private readonly double[] _topicItemCumulative; // per-topic cumulative Zipf weights, aligned with _topicItems
    private readonly double[] _interestCountCumulative;
    private readonly double[] _actionCumulative;
    private readonly int _userIdWidth, _itemIdWidth, _topicIdWidth;

    private SyntheticWorld(SyntheticWorldOptions options)
    {
        Options = options;
        UserCount = options.Users;
        ItemCount = options.ResolvedItems;
        TopicCount = options.ResolvedTopics;
        Dimension = options.Dimension;
        EndTime = options.EndTime;
        StartTime = options.EndTime - (long)options.Days * UnixTime.SecondsPerDay;
        _userIdWidth = Digits(UserCount);
        _itemIdWidth = Digits(ItemCount);
        _topicIdWidth = Digits(TopicCount - 1);

        var rng = new SplitRandom(options.Seed, StreamCatalogue, 0);
        // Isotropic noise, one item per product and no shared direction draw exactly what the first (separable) world
        // drew, so SyntheticWorldOptions.Separable reproduces its worlds byte for byte.
        _noiseScale = options.Anisotropy == 0 ? [] : NoiseScale(options.Dimension, options.Anisotropy);
        _shared = new float[options.Dimension];
        RandomDirection(_shared, [], new SplitRandom(options.Seed, StreamShared, 0));
        (_topics, _topicStyle, float[] topicCentres) = BuildTopics(options, _noiseScale, rng);
        _topicNoise = new double[TopicCount];
        for (int t = 0; t < TopicCount; t++) _topicNoise[t] = options.ItemNoise * Math.Exp(options.ItemNoiseVariation * rng.NextGaussian());
        FamilyCount = _topics.Max(t => t.FamilyIndex) + 1;

        _topicCumulative = new double[TopicCount];
        double sum = 0;
        for (int t = 0; t < TopicCount; t++) _topicCumulative[t] = sum += _topics[t].Popularity;

        int[] counts = ItemsPerTopic(options, _topics);
        for (int t = 0; t < TopicCount; t++) _topics[t] = _topics[t] with { ItemCount = counts[t] };
        _itemTopic = new int[ItemCount];
        for (int t = 0, i = 0; t < TopicCount; t++)
            for (int c = 0; c < counts[t]; c++) _itemTopic[i++] = t;
        Shuffle(_itemTopic, rng);

        // Members of each topic in item order, then shuffled: the position is the item's popularity rank.
        _topicItemStart = new int[TopicCount + 1];
        for (int t = 0; t < TopicCount; t++) _topicItemStart[t + 1] = _topicItemStart[t] + counts[t];
        _topicItems = new int[ItemCount];
        int[] fill = _topicItemStart[..^1];
        for (int i = 0; i < ItemCount; i++) _topicItems[fill[_itemTopic[i]]++] = i;
        _topicItemCumulative = new double[ItemCount];
        for (int t = 0; t < TopicCount; t++)
        {
            Span<int> members = _topicItems.AsSpan(_topicItemStart[t], counts[t]);
            Shuffle(members, rng);
            Span<double> cumulative = _topicItemCumulative.AsSpan(_topicItemStart[t], counts[t]);
            double s = 0;
            for (int r = 0; r < members.Length; r++) cumulative[r] = s += Math.Pow(r + 1, -options.ItemZipfExponent);
        }
        _itemProduct = GroupIntoProducts(options.MeanProductSize, rng);

        string[][] brands = new string[TopicCount][];
        for (int t = 0; t < TopicCount; t++)
        {
            brands[t] = new string[4];
            for (int b = 0; b < 4; b++)
                brands[t][b] = Vocabulary.BrandStarts[rng.NextInt(Vocabulary.BrandStarts.Length)]
                               + Vocabulary.BrandEnds[rng.NextInt(Vocabulary.BrandEnds.Length)];
        }

        _interestCountCumulative = new double[Math.Min(options.MaxInterests, TopicCount)];
        sum = 0;
        for (int k = 1; k <= _interestCountCumulative.Length; k++)
            _interestCountCumulative[k - 1] = sum += Math.Pow(k, -options.InterestCountExponent);
        _actionCumulative =
        [
            options.ClickShare,
            options.ClickShare + options.SaveShare,
            options.ClickShare + options.SaveShare + options.AddToCartShare,
            options.ClickShare + options.SaveShare + options.AddToCartShare + options.CheckoutShare,
        ];

        _itemVectors = new float[(long)ItemCount * Dimension];
        _itemTitle = new string[ItemCount];
        _itemBrand = new string[ItemCount];
        _itemPrice = new float[ItemCount];
        int itemBlocks = (ItemCount + ItemsPerBlock - 1) / ItemsPerBlock;
        Parallel.For(0, itemBlocks, block => BuildItems(block, topicCentres, brands));
    }

    /// <summary>The options this world was generated from.</summary>
    public SyntheticWorldOptions Options { get; }

    /// <summary>Number of users.</summary>
    public int UserCount { get; }

    /// <summary>Number of items.</summary>
    public int ItemCount { get; }

    /// <summary>Number of topics (ground-truth interests).</summary>
    public int TopicCount { get; }

    /// <summary>Number of topic families.</summary>
    public int FamilyCount { get; }

    /// <summary>Embedding dimension d.</summary>
    public int Dimension { get; }

    /// <summary>Start of the activity window, Unix seconds.</summary>
    public long StartTime { get; }

    /// <summary>End of the activity window, Unix seconds; every timestamp is ≤ this.</summary>
    public long EndTime { get; }

    /// <summary>Number of user blocks (<see cref="UsersPerBlock"/> users each, the last one possibly fewer).</summary>
    public int BlockCount => (UserCount + UsersPerBlock - 1) / UsersPerBlock;

    /// <summary>Item vectors, unit norm, <see cref="ItemCount"/> × <see cref="Dimension"/> row-major.</summary>
    public ReadOnlySpan<float> ItemVectors => _itemVectors;

    /// <summary>The topics, indexed by topic id.</summary>
    public IReadOnlyList<SyntheticTopic> Topics => _topics;

    /// <summary>Builds the catalogue (uses all cores; the result does not depend on their number).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of range (see <see cref="SyntheticWorldOptions.Validate"/>).</exception>
    public static SyntheticWorld Create(SyntheticWorldOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new SyntheticWorld(options);
    }

    /// <summary>Item id, "i" + 1-based index zero-padded so ordinal order is numeric order.</summary>
    public string ItemId(int item) => "i" + (item + 1).ToString("D" + _itemIdWidth, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>User id, "u" + 1-based index zero-padded so ordinal order is numeric order.</summary>
    public string UserId(int user) => "u" + (user + 1).ToString("D" + _userIdWidth, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Topic id, "t" + 0-based index zero-padded.</summary>
    public string TopicId(int topic) => "t" + topic.ToString("D" + _topicIdWidth, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Digits of the zero-padded numbers in user, item and topic ids.</summary>
    internal (int User, int Item, int Topic) IdWidths => (_userIdWidth, _itemIdWidth, _topicIdWidth);

    /// <summary>Topic of an item.</summary>
    public int ItemTopic(int item) => _itemTopic[item];

    /// <summary>Generated title of an item.</summary>
    public string ItemTitle(int item) => _itemTitle[item];

    /// <summary>Generated brand of an item.</summary>
    public string ItemBrand(int item) => _itemBrand[item];

    /// <summary>Generated price of an item.</summary>
    public float ItemPrice(int item) => _itemPrice[item];

    /// <summary>Every action label a synthetic world writes to actions.tsv, in <see cref="EngagementType"/> order.</summary>
    public static IReadOnlyList<string> ActionLabels { get; } = [.. Enum.GetValues<EngagementType>().Select(Label)];

    /// <summary>The action label written to actions.tsv.</summary>
    public static string Label(EngagementType action) => action switch
    {
        EngagementType.Click => "click",
        EngagementType.Save => "save",
        EngagementType.AddToCart => "add_to_cart",
        _ => "checkout",
    };

    /// <summary>Appends the actions of users [block·<see cref="UsersPerBlock"/>, …) to <paramref name="destination"/>,
    /// grouped by user in increasing order, each user's actions in increasing time. Returns the number appended.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="block"/> is not in [0, <see cref="BlockCount"/>).</exception>
    public int GenerateBlock(int block, List<SyntheticAction> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(block);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(block, BlockCount);
        ArgumentNullException.ThrowIfNull(destination);
        int before = destination.Count;
        int end = Math.Min(UserCount, (block + 1) * UsersPerBlock);
        for (int u = block * UsersPerBlock; u < end; u++) GenerateUserCore(u, destination);
        return destination.Count - before;
    }

    /// <summary>Appends one user's actions (increasing time) to <paramref name="destination"/>; returns the number appended.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="user"/> is not in [0, <see cref="UserCount"/>).</exception>
    public int GenerateUser(int user, List<SyntheticAction> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(user);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(user, UserCount);
        ArgumentNullException.ThrowIfNull(destination);
        int before = destination.Count;
        GenerateUserCore(user, destination);
        return destination.Count - before;
    }

    private void GenerateUserCore(int user, List<SyntheticAction> destination)
    {
        var rng = new SplitRandom(Options.Seed, StreamUsers, (ulong)user);
        SyntheticWorldOptions o = Options;
        double mu = Math.Log(o.MeanActionsPerUser) - o.ActivitySigma * o.ActivitySigma / 2;
        int cap = (int)Math.Min(50 * o.MeanActionsPerUser, 100_000);
        int actions = (int)Math.Clamp(Math.Round(Math.Exp(mu + o.ActivitySigma * rng.NextGaussian())), 1, cap);

        // An interest needs a few actions to show: at most one per 3 actions.
        int k = rng.NextFromCumulative(_interestCountCumulative) + 1;
        k = Math.Max(1, Math.Min(k, actions / 3));
        Span<int> topics = stackalloc int[k];
        Span<double> weightCumulative = stackalloc double[k];
        Span<double> periodStart = stackalloc double[k];
        Span<double> periodLength = stackalloc double[k];
        double window = (double)o.Days * UnixTime.SecondsPerDay;
        double weightSum = 0;
        for (int j = 0; j < k; j++)
        {
            topics[j] = DrawDistinctTopic(rng, topics[..j]);
            weightCumulative[j] = weightSum += rng.NextExponential();
            if (rng.NextDouble() < WholeWindowProbability)
            {
                periodStart[j] = 0;
                periodLength[j] = window;
            }
            else
            {
                periodStart[j] = rng.NextDouble() * 0.9 * window;
                periodLength[j] = Math.Min(window - periodStart[j], window * (0.1 + 0.5 * rng.NextDouble()));
            }
        }

        int first = destination.Count;
        double meanExtra = o.MeanSessionLength - 1;
        int remaining = actions;
        while (remaining > 0)
        {
            int length, topic;
            double t;
            if (rng.NextDouble() < o.ExplorationShare)
            {
                // A stray one-off action anywhere in the window, on a topic drawn by popularity.
                length = 1;
                topic = rng.NextFromCumulative(_topicCumulative);
                t = rng.NextDouble() * window;
            }
            else
            {
                int j = rng.NextFromCumulative(weightCumulative);
                length = Math.Min(remaining, 1 + (int)(rng.NextExponential() * meanExtra));
                t = periodStart[j] + rng.NextDouble() * periodLength[j];
                topic = topics[j];
            }
            remaining -= length;
            int sessionFirst = destination.Count;
            for (int a = 0; a < length; a++)
            {
                if (a > 0) t += rng.NextExponential() * o.MeanGapSeconds;
                int item = a > 0 && rng.NextDouble() < RevisitProbability
                    ? destination[sessionFirst + rng.NextInt(a)].Item
                    : DrawItem(rng, topic);
                var action = (EngagementType)rng.NextFromCumulative(_actionCumulative);
                long timestamp = Math.Min(EndTime, StartTime + (long)t);
                destination.Add(new SyntheticAction(user, item, timestamp, action, topic));
            }
        }

        // Chronological order; the generation index breaks ties so the order is total and deterministic.
        Span<SyntheticAction> span = CollectionsMarshal.AsSpan(destination)[first..];
        long[] keys = new long[span.Length];
        for (int i = 0; i < span.Length; i++) keys[i] = ((span[i].Timestamp - StartTime) << 20) | (long)i;
        keys.AsSpan().Sort(span);
    }

    private int DrawDistinctTopic(SplitRandom rng, ReadOnlySpan<int> taken)
    {
        for (int attempt = 0; attempt < 64; attempt++)
        {
            int t = rng.NextFromCumulative(_topicCumulative);
            if (!taken.Contains(t)) return t;
        }
        // Extremely skewed popularity: fall back to the first free topic after a random start.
        for (int start = rng.NextInt(TopicCount), i = 0; ; i++)
        {
            int t = (start + i) % TopicCount;
            if (!taken.Contains(t)) return t;
        }
    }

    private int DrawItem(SplitRandom rng, int topic)
    {
        int start = _topicItemStart[topic];
        int count = _topicItemStart[topic + 1] - start;
        return _topicItems[start + rng.NextFromCumulative(_topicItemCumulative.AsSpan(start, count))];
    }

    /// <summary>Consecutive members of each topic (in popularity order) form products of geometric size with the given
    /// mean; returns every item's product index.</summary>
    private int[] GroupIntoProducts(double meanSize, SplitRandom rng)
    {
        var product = new int[ItemCount];
        double logStay = Math.Log(1 - 1 / meanSize); // −∞ for size 1: every draw ends the product
        int next = 0;
        for (int t = 0; t < TopicCount; t++)
        {
            ReadOnlySpan<int> members = _topicItems.AsSpan(_topicItemStart[t], _topicItemStart[t + 1] - _topicItemStart[t]);
            for (int m = 0; m < members.Length; next++)
            {
                int size = meanSize <= 1 ? 1 : 1 + (int)Math.Min(members.Length, Math.Floor(Math.Log(rng.NextDoubleNonZero()) / logStay));
                for (int end = Math.Min(members.Length, m + size); m < end; m++) product[members[m]] = next;
            }
        }
        return product;
    }

    /// <summary>√Λ_kk = √((k+1)^−β / Σ_j (j+1)^−β): E‖g‖² = 1 for g ~ N(0, Λ), as g/√d has when β = 0.</summary>
    private static float[] NoiseScale(int d, double beta)
    {
        double total = 0;
        for (int k = 0; k < d; k++) total += Math.Pow(k + 1, -beta);
        var scale = new float[d];
        for (int k = 0; k < d; k++) scale[k] = (float)Math.Sqrt(Math.Pow(k + 1, -beta) / total);
        return scale;
    }

    private static (SyntheticTopic[] Topics, string[] Styles, float[] Centres) BuildTopics(SyntheticWorldOptions options,
        float[] noiseScale, SplitRandom rng)
    {
        Vocabulary.Category[] categories = Vocabulary.Categories;
        int styles = categories.Min(c => c.Styles.Length);
        int vocabularyTopics = categories.Length * styles;
        int topicCount = options.ResolvedTopics, d = options.Dimension;

        // Interleave categories (style 0 of every category first) so small worlds still span many families; beyond the
        // vocabulary, each further round is a new set of families ("Furniture (line 2)").
        var topics = new SyntheticTopic[topicCount];
        string[] topicStyles = new string[topicCount];
        int familyCount = 0;
        for (int t = 0; t < topicCount; t++)
        {
            int round = t / vocabularyTopics, v = t % vocabularyTopics;
            int c = v % categories.Length, style = v / categories.Length;
            int family = round * categories.Length + c;
            familyCount = Math.Max(familyCount, family + 1);
            string familyName = round == 0 ? categories[c].Name : $"{categories[c].Name} (line {round + 1})";
            string styleName = topicStyles[t] = categories[c].Styles[style];
            string name = char.ToUpperInvariant(styleName[0]) + styleName[1..] + " " + categories[c].Name.ToLowerInvariant();
            topics[t] = new SyntheticTopic(t, name, familyName, family, 0, 0);
        }

        int[] rank = new int[topicCount];
        for (int t = 0; t < topicCount; t++) rank[t] = t;
        Shuffle(rank, rng);
        for (int t = 0; t < topicCount; t++)
            topics[t] = topics[t] with { Popularity = Math.Pow(rank[t] + 1, -options.TopicZipfExponent) };

        float[] familyCentres = new float[familyCount * d];
        for (int f = 0; f < familyCount; f++) RandomDirection(familyCentres.AsSpan(f * d, d), noiseScale, rng);
        float[] centres = new float[topicCount * d];
        Span<float> g = new float[d];
        for (int t = 0; t < topicCount; t++)
        {
            Span<float> c = centres.AsSpan(t * d, d);
            NormalisedOffset(familyCentres.AsSpan(topics[t].FamilyIndex * d, d), options.TopicSpread, noiseScale, g, c, rng);
        }
        return (topics, topicStyles, centres);
    }

    private static int[] ItemsPerTopic(SyntheticWorldOptions options, SyntheticTopic[] topics)
    {
        // Items ∝ √popularity (our choice: popular topics have larger catalogues, but not Zipf-steep), at least one each.
        int n = options.ResolvedItems, topicCount = topics.Length;
        double total = topics.Sum(t => Math.Sqrt(t.Popularity));
        int[] counts = new int[topicCount];
        int assigned = 0;
        for (int t = 0; t < topicCount; t++) assigned += counts[t] = Math.Max(1, (int)(n * Math.Sqrt(topics[t].Popularity) / total));
        int[] byWeight = Enumerable.Range(0, topicCount).OrderByDescending(t => topics[t].Popularity).ThenBy(t => t).ToArray();
        for (int i = 0; assigned < n; i = (i + 1) % topicCount, assigned++) counts[byWeight[i]]++;
        for (int i = 0; assigned > n; i = (i + 1) % topicCount)
            if (counts[byWeight[i]] > 1) { counts[byWeight[i]]--; assigned--; }
        return counts;
    }

    private void BuildItems(int block, float[] topicCentres, string[][] brands)
    {
        var rng = new SplitRandom(Options.Seed, StreamItems, (ulong)block);
        int d = Dimension;
        Span<float> g = new float[d], product = new float[d];
        float shared = (float)Math.Sqrt(Options.SharedShare), residual = (float)Math.Sqrt(1 - Options.SharedShare);
        int end = Math.Min(ItemCount, (block + 1) * ItemsPerBlock);
        for (int i = block * ItemsPerBlock; i < end; i++)
        {
            int t = _itemTopic[i];
            Span<float> v = _itemVectors.AsSpan((int)((long)i * d), d);
            if (Options.MeanProductSize <= 1)
            {
                NormalisedOffset(topicCentres.AsSpan(t * d, d), _topicNoise[t], _noiseScale, g, v, rng);
            }
            else
            {
                // The product's offset comes from its own stream, so its variants agree whatever block they fall in.
                NormalisedOffset(topicCentres.AsSpan(t * d, d), _topicNoise[t], _noiseScale, g, product,
                                 new SplitRandom(Options.Seed, StreamProducts, (ulong)_itemProduct[i]));
                NormalisedOffset(product, Options.VariantNoise, _noiseScale, g, v, rng);
            }
            if (Options.SharedShare > 0)
            {
                TensorPrimitives.Multiply(v, residual, v);
                TensorPrimitives.MultiplyAdd(_shared, shared, v, v);
                VectorNorms.Normalize(v, v);
            }
            SyntheticTopic topic = _topics[t];
            int round = topic.FamilyIndex / Vocabulary.Categories.Length;
            Vocabulary.Category category = Vocabulary.Categories[topic.FamilyIndex % Vocabulary.Categories.Length];
            string title = category.Modifiers[rng.NextInt(category.Modifiers.Length)] + " " + _topicStyle[t] + " "
                           + category.Nouns[rng.NextInt(category.Nouns.Length)];
            if (rng.NextDouble() < 0.4) title += ", " + category.Features[rng.NextInt(category.Features.Length)];
            _itemTitle[i] = title;
            _itemBrand[i] = brands[t][rng.NextInt(brands[t].Length)] + (round > 0 ? " " + (round + 1) : "");
            double price = category.BasePrice * Math.Exp(0.5 * rng.NextGaussian());
            _itemPrice[i] = (float)Math.Max(0.99, Math.Round(price) - 0.01);
        }
    }

    /// <summary>A random unit direction, isotropic when <paramref name="noiseScale"/> is empty, else drawn from
    /// N(0, Λ).</summary>
    private static void RandomDirection(Span<float> destination, ReadOnlySpan<float> noiseScale, SplitRandom rng)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = (float)rng.NextGaussian();
        if (!noiseScale.IsEmpty) TensorPrimitives.Multiply(destination, noiseScale, destination);
        VectorNorms.Normalize(destination, destination);
    }

    /// <summary>destination = normalise(centre + spread·g), g ~ N(0, Λ) with Λ = diag(noiseScale²), tr Λ = 1;
    /// Λ = I/d when <paramref name="noiseScale"/> is empty.</summary>
    private static void NormalisedOffset(ReadOnlySpan<float> centre, double spread, ReadOnlySpan<float> noiseScale,
                                         Span<float> g, Span<float> destination, SplitRandom rng)
    {
        for (int i = 0; i < g.Length; i++) g[i] = (float)rng.NextGaussian();
        if (noiseScale.IsEmpty)
        {
            TensorPrimitives.MultiplyAdd(g, (float)(spread / Math.Sqrt(centre.Length)), centre, destination);
        }
        else
        {
            TensorPrimitives.Multiply(g, noiseScale, g);
            TensorPrimitives.MultiplyAdd(g, (float)spread, centre, destination);
        }
        VectorNorms.Normalize(destination, destination);
    }

    private static void Shuffle<T>(Span<T> values, SplitRandom rng)
    {
        for (int i = values.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (values[i], values[j]) = (values[j], values[i]);
        }
    }

    private static int Digits(int value) => Math.Max(1, value.ToString(System.Globalization.CultureInfo.InvariantCulture).Length);
}
