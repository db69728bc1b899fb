import { describe, expect, it } from 'vitest';
import { downloadRequestXml, IsapiError, parseChannels, parseDeviceInfo, parseDeviceTime, parseSearchResult, searchRequestXml } from '../../../src/runners/hikvision/isapi-xml.js';

const URI = (track: string, from: string, to: string, size: number) => `rtsp://10.0.0.5/Streaming/tracks/${track}/?starttime=${from}&amp;endtime=${to}&amp;name=ch01_0800000012000000&amp;size=${size}`;
const match = (track: string, from: string, to: string, size: number) =>
  `<searchMatchItem><sourceID>{0000}</sourceID><trackID>${track}</trackID><timeSpan><startTime>${from}</startTime><endTime>${to}</endTime></timeSpan>` +
  `<mediaSegmentDescriptor><contentType>video</contentType><codecType>H.264-BP</codecType><playbackURI>${URI(track, from.replace(/[-:]/g, ''), to.replace(/[-:]/g, ''), size)}</playbackURI></mediaSegmentDescriptor></searchMatchItem>`;

describe("Hikvision ISAPI's XML", () => {
  it('parses a search page of both namespaces; a one-item page is a list; an empty one has no matches', () => {
    const ver20 = `<?xml version="1.0" encoding="UTF-8"?><CMSearchResult version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><searchID>x</searchID><responseStatus>true</responseStatus><responseStatusStrg>MORE</responseStatusStrg><numOfMatches>2</numOfMatches><matchList>${match('101', '2021-08-18T15:18:15Z', '2021-08-18T15:28:15Z', 1400788)}${match('101', '2021-08-18T15:28:15Z', '2021-08-18T15:38:15Z', 99)}</matchList></CMSearchResult>`;
    const page = parseSearchResult(ver20);
    expect(page).toMatchObject({ status: 'MORE', ns: 'ver20' });
    expect(page.matches[0]).toEqual({ trackId: '101', start: '2021-08-18T15:18:15Z', end: '2021-08-18T15:28:15Z', playbackUri: 'rtsp://10.0.0.5/Streaming/tracks/101/?starttime=20210818T151815Z&endtime=20210818T152815Z&name=ch01_0800000012000000&size=1400788', size: 1400788, fileName: 'ch01_0800000012000000' });
    const one = parseSearchResult(`<CMSearchResult version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema"><responseStatusStrg>OK</responseStatusStrg><matchList>${match('201', '2021-08-18T01:00:00Z', '2021-08-18T01:05:00Z', 5)}</matchList></CMSearchResult>`);
    expect(one.ns).toBe('ver10');
    expect(one.matches.map((m) => m.trackId)).toEqual(['201']);
    expect(parseSearchResult('<CMSearchResult xmlns="http://www.isapi.org/ver20/XMLSchema"><responseStatusStrg>NO MATCHES</responseStatusStrg><matchList/></CMSearchResult>').matches).toEqual([]);
  });

  it("turns the device's refusals and what is not XML into errors naming what it said", () => {
    const refused = () => parseSearchResult('<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><requestURL>/ISAPI/ContentMgmt/search</requestURL><statusCode>4</statusCode><statusString>Invalid Operation</statusString><subStatusCode>notSupport</subStatusCode></ResponseStatus>');
    expect(refused).toThrow('the device answered Invalid Operation (notSupport)');
    try {
      refused();
    } catch (err) {
      expect(err).toMatchObject({ statusString: 'Invalid Operation', subStatusCode: 'notSupport' });
    }
    expect(() => parseDeviceInfo('<userCheck><statusValue>401</statusValue><statusString>Unauthorized</statusString></userCheck>')).toThrow('the device refused the user (401 Unauthorized)');
    expect(() => parseSearchResult('<html><body>500 Internal Server Error</body></html>')).toThrow('expected <CMSearchResult>, the device answered <html>');
    expect(() => parseSearchResult('<CMSearchResult><responseStatusStrg>WHAT</responseStatusStrg></CMSearchResult>')).toThrow('a search answered with status "WHAT"');
    expect(() => parseDeviceInfo('not <xml')).toThrow(IsapiError);
  });

  it('reads the device, its clock and its main-stream channels', () => {
    expect(parseDeviceInfo('<DeviceInfo xmlns="http://www.hikvision.com/ver10/XMLSchema"><deviceName>Lobby NVR</deviceName><model>DS-7608NI-K2</model><serialNumber>DS-7608NI0120190101CCRR</serialNumber><firmwareVersion>V4.22.005</firmwareVersion><firmwareReleasedDate>build 191111</firmwareReleasedDate></DeviceInfo>')).toEqual({ name: 'Lobby NVR', model: 'DS-7608NI-K2', serial: 'DS-7608NI0120190101CCRR', firmware: 'V4.22.005 build 191111' });
    expect(parseDeviceTime('<Time><timeMode>NTP</timeMode><localTime>2021-08-18T15:18:15+03:00</localTime><timeZone>CST-3:00:00</timeZone></Time>')).toEqual({ localTime: '2021-08-18T15:18:15+03:00', timeZone: 'CST-3:00:00' });
    const channels = ['101', '102', '201', '202', '1601'].map((id) => `<StreamingChannel><id>${id}</id><channelName>Camera</channelName></StreamingChannel>`).join('');
    expect(parseChannels(`<StreamingChannelList>${channels}</StreamingChannelList>`)).toEqual(['101', '201', '1601']);
    expect(parseChannels('<StreamingChannelList><StreamingChannel><id>101</id></StreamingChannel></StreamingChannelList>')).toEqual(['101']);
  });

  it('writes a search (trackIDList or trackList, the devices\' own spelling of the position) and a download request with & escaped', () => {
    const xml = searchRequestXml({ searchId: 'C0FFEE00-0000-4000-8000-000000000001', tracks: ['101', '201'], start: '2021-08-18T00:00:00Z', end: '2021-08-18T23:59:59Z', position: 40, maxResults: 40, trackElement: 'trackList', ns: 'ver10' });
    expect(xml).toContain('<CMSearchDescription version="1.0" xmlns="http://www.hikvision.com/ver10/XMLSchema">');
    expect(xml).toContain('<trackList><trackID>101</trackID><trackID>201</trackID></trackList>');
    expect(xml).toContain('<searchResultPostion>40</searchResultPostion>');
    expect(xml).toContain('<startTime>2021-08-18T00:00:00Z</startTime><endTime>2021-08-18T23:59:59Z</endTime>');
    expect(downloadRequestXml('rtsp://h/Streaming/tracks/101/?starttime=a&endtime=b&name=c&size=5', 'ver20')).toBe('<?xml version="1.0" encoding="UTF-8"?><downloadRequest version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema"><playbackURI>rtsp://h/Streaming/tracks/101/?starttime=a&amp;endtime=b&amp;name=c&amp;size=5</playbackURI></downloadRequest>');
  });
});
