//! TEMPORARY stand-in until the exact overlap module lands.
#[derive(Debug, Clone)]
pub struct Pattern {
    prefix: Vec<String>,
}
impl Pattern {
    pub fn parse(glob: &str) -> Result<Pattern, String> {
        let prefix = glob
            .split('/')
            .take_while(|c| !c.contains(['*', '?', '[', '{']))
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Pattern { prefix })
    }
    pub fn literal_prefix(&self) -> &[String] {
        &self.prefix
    }
}
pub fn overlaps(a: &Pattern, b: &Pattern) -> bool {
    let n = a.prefix.len().min(b.prefix.len());
    a.prefix.get(..n) == b.prefix.get(..n)
}
