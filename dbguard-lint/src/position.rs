//! Byte offsets to 1-based line and character column, for findings.

/// Line starts of a text, built once per file.
pub(crate) struct LineIndex<'a> {
    src: &'a str,
    starts: Vec<usize>,
    ascii: Vec<bool>,
}

impl<'a> LineIndex<'a> {
    pub fn new(src: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        let ascii = starts
            .iter()
            .enumerate()
            .map(|(n, &s)| src[s..starts.get(n + 1).copied().unwrap_or(src.len())].is_ascii())
            .collect();
        LineIndex { src, starts, ascii }
    }

    /// (line, column) of `offset`; columns count characters, in O(1) on ASCII lines.
    pub fn at(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let col = if self.ascii[line] { offset - start } else { self.src[start..offset].chars().count() };
        (line + 1, col + 1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_and_columns() {
        let idx = super::LineIndex::new("ab\nçd\n\nx");
        assert_eq!(idx.at(0), (1, 1));
        assert_eq!(idx.at(3), (2, 1));
        assert_eq!(idx.at(5), (2, 2), "ç is one character of two bytes");
        assert_eq!(idx.at(8), (4, 1));
        assert_eq!(idx.at(9), (4, 2), "the end of the text");
    }
}
