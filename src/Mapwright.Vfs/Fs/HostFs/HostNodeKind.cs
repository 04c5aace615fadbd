namespace Mapwright.Vfs.Fs.HostFs;

/// <summary>What <see cref="HostFiles.MakeNode"/> makes: the file types mknod() makes without privilege, and a
/// bound UNIX socket's name.</summary>
internal enum HostNodeKind
{
    Regular,
    Fifo,
    Socket,
}
