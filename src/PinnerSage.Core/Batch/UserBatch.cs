using PinnerSage.Profiles;

namespace PinnerSage.Batch;

/// <summary>A unit of work: consecutive users with their actions in flat columns (no per-action objects), filled by
/// the reader, clustered by one worker, written in <see cref="Sequence"/> order by the writer, then reused.</summary>
internal sealed class UserBatch
{
    public long Sequence;
    public int Users;
    public int Actions;
    public string[] UserIds;
    public int[] Start;
    public int[] Rows = new int[4096];
    public long[] Times = new long[4096];
    public int[] Codes = new int[4096];
    public UserProfile?[] Profiles;
    public ProfileBuildStats[] Stats;

    public UserBatch(int maxUsers)
    {
        UserIds = new string[maxUsers];
        Start = new int[maxUsers + 1];
        Profiles = new UserProfile?[maxUsers];
        Stats = new ProfileBuildStats[maxUsers];
    }

    public int Capacity => UserIds.Length;

    public void Reset()
    {
        Array.Clear(UserIds, 0, Users);
        Array.Clear(Profiles, 0, Users);
        Users = 0;
        Actions = 0;
    }

    /// <summary>Starts the next user; its actions follow with <see cref="Add"/>.</summary>
    public void BeginUser(string userId)
    {
        UserIds[Users] = userId;
        Start[Users] = Actions;
        Users++;
        Start[Users] = Actions;
    }

    public void Add(int row, long time, int code)
    {
        if (Actions == Rows.Length)
        {
            int size = Rows.Length * 2;
            Array.Resize(ref Rows, size);
            Array.Resize(ref Times, size);
            Array.Resize(ref Codes, size);
        }
        Rows[Actions] = row;
        Times[Actions] = time;
        Codes[Actions] = code;
        Actions++;
        Start[Users] = Actions;
    }
}
