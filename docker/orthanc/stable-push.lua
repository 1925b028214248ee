-- Written by Nadir (pacs/stable_push.py): tell its nodes at once that a series is
-- stable. Their change feed indexes the series, and catches any post that is lost.
function OnStableSeries(seriesId, tags, metadata)
  local secret = os.getenv('NADIR_PUSH_SECRET')
  if secret == nil or secret == '' then
    return
  end
  local body = DumpJson({ series = seriesId }, true)
  local headers = { ['Content-Type'] = 'application/json',
                    ['X-Nadir-Push-Secret'] = secret }
  pcall(HttpPost, 'http://nadir:8000/internal/orthanc/stable-series', body, headers)
  pcall(HttpPost, 'http://nadir-2:8000/internal/orthanc/stable-series', body, headers)
end
