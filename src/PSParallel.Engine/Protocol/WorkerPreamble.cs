using PSParallel.Engine.Lanes;

namespace PSParallel.Engine.Protocol;

/// <summary>
/// Eight bytes a worker writes the moment it owns its output, before the first frame. Whatever
/// the PowerShell host may print while starting comes before them; the parent skips it (keeping it
/// for error messages) instead of reading it as a frame.
/// </summary>
internal static class WorkerPreamble
{
    private static readonly byte[] Magic = "PSPRL\u0001\r\n"u8.ToArray();
    private const int MaxSkippedBytes = 64 * 1024;

    public static void Write(Stream output)
    {
        output.Write(Magic);
        output.Flush();
    }

    /// <summary>
    /// Reads up to and including the preamble. What came before it is dropped, unless the preamble
    /// never comes: then the error quotes it.
    /// </summary>
    public static async Task SkipToAsync(Stream input, string worker)
    {
        var skipped = new List<byte>();
        int matched = 0;
        var one = new byte[1];
        while (matched < Magic.Length)
        {
            if (await input.ReadAsync(one).ConfigureAwait(false) == 0)
                throw new LaneFailedException($"{worker} ended before it started the protocol" + Quote(skipped));
            if (one[0] == Magic[matched])
            {
                matched++;
                continue;
            }
            skipped.AddRange(Magic.AsSpan(0, matched).ToArray());
            matched = one[0] == Magic[0] ? 1 : 0;
            if (matched == 0) skipped.Add(one[0]);
            if (skipped.Count > MaxSkippedBytes)
                throw new LaneFailedException($"{worker} wrote more than 64 KB before it started the protocol" + Quote(skipped));
        }
    }

    /// <summary>The first of what was skipped, as printable text.</summary>
    private static string Quote(List<byte> skipped)
    {
        if (skipped.Count == 0) return "";
        var text = System.Text.Encoding.UTF8.GetString(skipped.Take(200).ToArray());
        var printable = new string(text.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '.' : c).ToArray()).Trim();
        return $" (it wrote: {printable})";
    }
}
