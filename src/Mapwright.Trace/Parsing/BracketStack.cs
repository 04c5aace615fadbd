namespace Mapwright.Trace.Parsing;

/// <summary>The open brackets of a line being scanned, innermost last; kept inline for the common shallow case so
/// that scanning a line allocates nothing.</summary>
internal struct BracketStack
{
    private ulong _inline;
    private int _count;
    private Stack<char>? _deep;

    public readonly int Count => _count;

    public void Push(char c)
    {
        if (_count < 32)
        {
            _inline = (_inline << 2) | Code(c);
        }
        else
        {
            (_deep ??= new Stack<char>()).Push(c);
        }

        _count++;
    }

    public char Pop()
    {
        _count--;
        if (_count >= 32)
        {
            return _deep!.Pop();
        }

        char c = Char(_inline & 3);
        _inline >>= 2;
        return c;
    }

    public readonly char Peek() => _count > 32 ? _deep!.Peek() : Char(_inline & 3);

    private static ulong Code(char c) => c switch
    {
        '(' => 0,
        '[' => 1,
        _ => 2,
    };

    private static char Char(ulong code) => code switch
    {
        0 => '(',
        1 => '[',
        _ => '{',
    };
}
