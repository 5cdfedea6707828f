using System.Data.Common;
using PinnerSage.Profiles;

namespace PinnerSage.Storage;

/// <summary>The replace session every store shares (the template; SQLite and PostgreSQL fill in the steps): argument
/// and state checks, the user count, driver errors reported as <see cref="IOException"/> naming the store, and one
/// release whatever happens (commit, failure or dispose without commit, which rolls back).</summary>
internal abstract class ReplaceSessionTemplate(string display) : IProfileReplaceSession
{
    private bool _done;

    /// <summary>Users written so far.</summary>
    protected long Users { get; private set; }

    /// <summary>Stages one profile (the store's encoding and staging table).</summary>
    protected abstract void WriteCore(UserProfile profile);

    /// <summary>Publishes the staged profiles and <paramref name="metadata"/> in one transaction.</summary>
    protected abstract void CommitCore(ProfileRunMetadata metadata);

    /// <summary>Releases the connection and the staging area (rolled back unless committed); called exactly once.</summary>
    protected abstract void Release();

    public void Write(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ObjectDisposedException.ThrowIf(_done, this);
        try
        {
            WriteCore(profile);
        }
        catch (DbException e)
        {
            throw new IOException($"{display}: {e.Message}", e);
        }
        Users++;
    }

    public void Commit(ProfileRunMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ObjectDisposedException.ThrowIf(_done, this);
        try
        {
            CommitCore(metadata);
        }
        catch (DbException e)
        {
            throw new IOException($"{display}: {e.Message}", e);
        }
        finally
        {
            Dispose();
        }
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        Release();
    }
}
