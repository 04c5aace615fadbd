using Xunit;

namespace Mapwright.Tests.Trace;

/// <summary>
/// Names made by calls that open no descriptor: mknod's FIFOs, files and sockets, and bind's UNIX socket names, in
/// the replay's private layer; and a thread's own /proc/self/task/TID directory. The kernel's answers for a real
/// program are checked in FileLayerReplayTests (tests/kernel-oracle/files.c); these are the cases a program there
/// cannot show on every machine.
/// </summary>
public sealed class FileNodeTests
{
    private static (int Exit, string Output) Run(string trace) => PlainLogInferenceTests.Run(trace);

    private static string Dir() => Directory.CreateTempSubdirectory("mapwright-nodes-").FullName;

    [Fact]
    [Trait("Linux", "fs/namei.c may_mknod(): S_IFDIR is EPERM and an unknown file type EINVAL, before the name is looked up; a regular file's mode may leave the type out")]
    public void MknodChecksTheFileTypeFirst()
    {
        string dir = Dir();
        try
        {
            var (exit, output) = Run($"""
                mknod("{dir}/d", S_IFDIR|0700) = -1 EPERM (Operation not permitted)
                mknod("/nonexistent-dir/d", 0170600) = -1 EINVAL (Invalid argument)
                mknod("{dir}/plain", 0600) = 0
                openat(AT_FDCWD, "{dir}/plain", O_RDWR) = 3
                ftruncate(3, 4096) = 0
                mmap(0x200000000000, 4096, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED, 3, 0) = 0x200000000000
                mknodat(AT_FDCWD, "{dir}/plain", S_IFREG|0600) = -1 EEXIST (File exists)
                openat(AT_FDCWD, "{dir}/plain", O_RDONLY|O_DIRECTORY) = -1 ENOTDIR (Not a directory)
                unlinkat(AT_FDCWD, "{dir}/plain", 0) = 0
                """);
            Assert.True(exit == 0, output);
            Assert.Contains("calls: 9 executed, 9 matched, 0 diverged", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Linux", "fs/namei.c vfs_mknod(): a device node needs CAP_MKNOD, a privilege the log does not show: the replay takes the log's result")]
    public void ADeviceNodeIsOutsideTheModel()
    {
        var (exit, output) = Run("""
            mknodat(AT_FDCWD, "/tmp/mapwright-null", S_IFCHR|0666, makedev(0x1, 0x3)) = 0
            mknod("/tmp/mapwright-loop", S_IFBLK|0600, makedev(0x7, 0)) = -1 EPERM (Operation not permitted)
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("calls: 0 executed, 0 matched, 0 diverged, 2 skipped", output, StringComparison.Ordinal);
        Assert.Contains("CAP_MKNOD", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Linux", "fs/namei.c do_mknodat(): a relative name starts from the directory descriptor; the FIFO opens with no mmap (ENODEV)")]
    public void AFifoMadeRelativeToADirectoryOpensWithoutMmap()
    {
        string dir = Dir();
        try
        {
            var (exit, output) = Run($"""
                openat(AT_FDCWD, "{dir}", O_RDONLY|O_DIRECTORY) = 3
                mknodat(3, "pipe", S_IFIFO|0600) = 0
                openat(AT_FDCWD, "{dir}/pipe", O_RDWR|O_NONBLOCK) = 4
                mmap(NULL, 4096, PROT_READ, MAP_SHARED, 4, 0) = -1 ENODEV (No such device)
                unlinkat(3, "pipe", 0) = 0
                unlinkat(3, "pipe", 0) = -1 ENOENT (No such file or directory)
                """);
            Assert.True(exit == 0, output);
            Assert.Contains("calls: 6 executed, 6 matched, 0 diverged", output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "pipe")), "the replay wrote to the host");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Linux", "net/socket.c __sys_bind(): EBADF for a closed descriptor, ENOTSOCK for a file; net/unix/af_unix.c: a bound name is EADDRINUSE until unlinked, and does not open (ENXIO)")]
    public void BindingAUnixSocketMakesItsName()
    {
        string dir = Dir();
        try
        {
            var (exit, output) = Run($"""
                socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3
                bind(9, {"{"}sa_family=AF_UNIX, sun_path="{dir}/s"{"}"}, 110) = -1 EBADF (Bad file descriptor)
                openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 4
                bind(4, {"{"}sa_family=AF_UNIX, sun_path="{dir}/s"{"}"}, 110) = -1 ENOTSOCK (Socket operation on non-socket)
                bind(3, {"{"}sa_family=AF_UNIX, sun_path="{dir}/s"{"}"}, 110) = 0
                socket(AF_UNIX, SOCK_DGRAM, 0) = 5
                bind(5, {"{"}sa_family=AF_UNIX, sun_path="{dir}/s"{"}"}, 110) = -1 EADDRINUSE (Address already in use)
                openat(AT_FDCWD, "{dir}/s", O_RDONLY) = -1 ENXIO (No such device or address)
                mknod("{dir}/s", S_IFIFO|0600) = -1 EEXIST (File exists)
                unlink("{dir}/s") = 0
                bind(5, {"{"}sa_family=AF_UNIX, sun_path="{dir}/s"{"}"}, 110) = 0
                bind(5, {"{"}sa_family=AF_UNIX, sun_path=@"abstract"{"}"}, 11) = 0
                bind(5, {"{"}sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1"){"}"}, 16) = 0
                """);
            Assert.True(exit == 0, output);
            // The sockets and the abstract and INET binds are outside the model.
            Assert.Contains("calls: 9 executed, 9 matched, 0 diverged, 4 skipped", output, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(dir, "s")), "the replay wrote to the host");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Linux", "fs/namei.c do_renameat2(): a directory onto a file is ENOTDIR; moving a directory (with what lies under it) is outside the private layer, skipped with its reason")]
    public void RenamingADirectoryIsOutsideTheModel()
    {
        string dir = Dir();
        try
        {
            Directory.CreateDirectory(Path.Combine(dir, "a"));
            File.WriteAllText(Path.Combine(dir, "f"), "x");
            var (exit, output) = Run($"""
                rename("{dir}/a", "{dir}/f") = -1 ENOTDIR (Not a directory)
                link("{dir}/a", "{dir}/c") = -1 EPERM (Operation not permitted)
                rename("{dir}/a", "{dir}/b") = 0
                linkat(AT_FDCWD, "{dir}/f", AT_FDCWD, "{dir}/g", 0x1) = -1 EINVAL (Invalid argument)
                openat(AT_FDCWD, "{dir}/f", O_RDONLY) = 3
                linkat(3, "", AT_FDCWD, "{dir}/h", AT_EMPTY_PATH) = 0
                link("{dir}/f", "{dir}/g") = 0
                renameat2(AT_FDCWD, "{dir}/f", AT_FDCWD, "{dir}/g", RENAME_NOREPLACE|RENAME_EXCHANGE) = -1 EINVAL (Invalid argument)
                rename("{dir}/f", "{dir}/g") = 0
                openat(AT_FDCWD, "{dir}/f", O_RDONLY) = 4
                """);
            Assert.True(exit == 0, output);
            // Two names of one file: the rename does nothing, and both names stay.
            Assert.Contains("calls: 8 executed, 8 matched, 0 diverged, 2 skipped", output, StringComparison.Ordinal);
            Assert.Contains("outside the model's file layer", output, StringComparison.Ordinal);
            Assert.True(Directory.Exists(Path.Combine(dir, "a")) && !File.Exists(Path.Combine(dir, "g")), "the replay changed the host");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Linux", "fs/namei.c do_mkdirat(), do_rmdir(): a directory made in the replay holds files, is a working directory, and goes only when empty")]
    public void ADirectoryMadeInTheReplayHoldsFilesUntilRemoved()
    {
        string dir = Dir();
        try
        {
            var (exit, output) = Run($"""
                mkdir("{dir}/d", 0700) = 0
                mkdir("{dir}/d/e/f", 0700) = -1 ENOENT (No such file or directory)
                openat(AT_FDCWD, "{dir}/d", O_RDONLY|O_DIRECTORY) = 3
                mkdirat(3, "e", 0700) = 0
                openat(3, "e/file", O_WRONLY|O_CREAT|O_EXCL, 0600) = 4
                openat(AT_FDCWD, "{dir}/d", O_RDWR) = -1 EISDIR (Is a directory)
                chdir("{dir}/d/e") = 0
                openat(AT_FDCWD, "file", O_RDONLY) = 5
                mkdir("file/x", 0700) = -1 ENOTDIR (Not a directory)
                rmdir("{dir}/d/e") = -1 ENOTEMPTY (Directory not empty)
                rmdir("{dir}/d/e/file") = -1 ENOTDIR (Not a directory)
                unlink("{dir}/d/e") = -1 EISDIR (Is a directory)
                unlink("{dir}/d/e/..") = -1 EISDIR (Is a directory)
                rmdir("{dir}/d/e/..") = -1 ENOTEMPTY (Directory not empty)
                unlink("file") = 0
                rmdir("{dir}/d/e") = 0
                openat(AT_FDCWD, "{dir}/d/e", O_RDONLY) = -1 ENOENT (No such file or directory)
                mkdir("/sys/fs/cgroup/mapwright-test", 0755) = 0
                """);
            Assert.True(exit == 0, output);
            Assert.Contains("calls: 17 executed, 17 matched, 0 diverged, 1 skipped", output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir, "d")), "the replay wrote to the host");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Linux", "fs/proc/base.c: /proc/PID/task/TID/ is each thread's directory; a runtime names its threads through their comm")]
    public void AThreadsOwnProcDirectoryOpens()
    {
        var (exit, output) = Run("""
            100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88) = 101
            100 openat(AT_FDCWD, "/proc/self/task/101/comm", O_RDWR) = 3
            101 openat(AT_FDCWD, "/proc/100/task/101/stat", O_RDONLY) = 4
            100 openat(AT_FDCWD, "/proc/self/task/101/nonexistent", O_RDONLY) = -1 ENOENT (No such file or directory)
            100 mknodat(AT_FDCWD, "/proc/self/fifo", S_IFIFO|0600) = -1 ENOENT (No such file or directory)
            """);
        Assert.True(exit == 0, output);
        Assert.Contains("calls: 5 executed, 5 matched, 0 diverged", output, StringComparison.Ordinal);
    }
}
