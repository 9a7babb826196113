//! The benchmark prompt: plain English prose, tokenised by the model's own tokenizer and repeated
//! until it is long enough. Speed does not depend on what the tokens say, only on how many there
//! are; the text is fixed so that every engine in a report runs the very same ids.

use crate::tokenizer::Tokenizer;

const PROSE: &str = "The lighthouse keeper climbed the spiral stairs every evening a little before \
sunset, carrying a can of oil, a clean cloth and a notebook in which he wrote down the weather. \
Over the years the notebook had become a kind of diary of the coast: the week the herring came \
back, the winter the harbour froze, the summer a whale slept for three days in the bay while the \
whole village rowed out to look at it. Ships no longer needed him, strictly speaking. Their \
captains steered by satellites and radio beacons, and the light itself had been automatic for \
a decade. Still, the company paid him to stay, partly from habit and partly because machines \
break on stormy nights, which is exactly when somebody ought to be awake. He liked the quiet. \
In the mornings he repaired nets for the fishermen, in the afternoons he read history books \
borrowed from the library boat, and at night he listened to the sea arguing with the rocks. \
His granddaughter visited in August and asked him whether he was ever lonely. He thought about \
it for a long time before answering that loneliness is a question of attention rather than of \
company, and that a man who watches the sky carefully is never entirely alone. ";

/// `len` ids: the model's start token (when its tokenizer adds one), then the prose, repeated.
pub fn prompt_ids(tokenizer: &Tokenizer, len: usize) -> Result<Vec<u32>, String> {
    let mut ids = tokenizer.encode_with(PROSE, true).map_err(|e| e.to_string())?;
    let body = tokenizer.encode_with(PROSE, false).map_err(|e| e.to_string())?;
    if body.is_empty() {
        return Err("the benchmark prose encodes to no tokens".into());
    }
    while ids.len() < len {
        ids.extend_from_slice(&body);
    }
    ids.truncate(len);
    Ok(ids)
}
