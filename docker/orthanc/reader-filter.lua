-- Written by Nadir: its image proxy's user may only read DICOMweb.
function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)
  if username == 'nadir-images' then
    return method == 'GET' and string.sub(uri, 1, 11) == '/dicom-web/'
      and string.find(uri, '..', 1, true) == nil
  end
  return true
end
